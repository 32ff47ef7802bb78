using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Core.Refit;

/// <summary>
/// The weights of an .onnx model or a .safetensors checkpoint, read for one refit into buffers recycled from the
/// engine weight pool: a refit loop over checkpoints then reads each file into memory already mapped and warm,
/// instead of fresh arrays the GC must fault in and later collect. The engine keeps the values it adopts (and hands
/// them back when a later refit replaces them); disposing this hands back the rest, so <see cref="Values"/> must not
/// be used after <see cref="Dispose"/>.
/// </summary>
public sealed class WeightFile : IDisposable
{
    private int _disposed;

    private WeightFile(IReadOnlyDictionary<string, WeightValue> values) => Values = values;

    /// <summary>The file's weights by name, as <see cref="WeightSources.FromFile(string)"/> reads them.</summary>
    public IReadOnlyDictionary<string, WeightValue> Values { get; }

    public static WeightFile Read(string path) => new(WeightSources.FromFile(path, WeightPool.Rent));

    /// <summary>Hands back every buffer no engine adopted (once: a buffer handed back may be rented again at once).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) WeightPool.Return(null, Values.Values.Select(v => v.Data));
    }
}
