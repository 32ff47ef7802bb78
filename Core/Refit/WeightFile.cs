using TrtEngine.Core.Conversion;
using TrtEngine.Native.Network;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Core.Refit;

/// <summary>
/// The weights of an .onnx model or a .safetensors checkpoint, read for one refit into buffers recycled from the
/// engine weight pool: a refit loop over checkpoints then reads each file into memory already mapped and warm,
/// instead of fresh arrays the GC must fault in and later collect. Read for a given engine that derives weights from it
/// (<see cref="PrepareFromBytes"/>), the file is read by two of the engine's threads, each running the recipes whose
/// weights it has read, and the refit takes their results. The
/// engine keeps the values it adopts (and hands them back when a later refit replaces them); disposing this hands back
/// the rest, so <see cref="Values"/> must not be used after <see cref="Dispose"/>.
/// </summary>
public sealed class WeightFile : IDisposable
{
    /// <summary>
    /// Below this many bytes of weights the refit derives (<see cref="Engine.DerivedWeightBytes"/>), starting the
    /// background work costs more than it saves. mlp's 2.1 MB of one-row GEMM weights are taken as they are: refitted from
    /// its ONNX file in 562–577 µs with a preparation against 505–528 without (10th percentiles), and from safetensors,
    /// whose pieces both threads read, in 155–236 µs against 124–136 read on one thread (against reads of 99–108,
    /// `--refit-only`, old and new builds in turn, six processes each; the second thread had saved it 7–12 µs in
    /// session 26, and still did in some processes of session 34, which is why it was kept for safetensors until then).
    /// </summary>
    internal const long PrepareFromBytes = 1 << 20;

    private readonly RefitPreparation? _preparation;
    private int _disposed;

    // The values' arrays and the pool's rental of each, taken while this alone holds them: an engine that adopts one
    // may hand it back to the pool before this is disposed, and the pool rent it out again (to another file's read).
    private readonly float[][] _arrays;
    private readonly int[] _rentals;

    private WeightFile(IReadOnlyDictionary<string, WeightValue> values, RefitPreparation? preparation, bool otherGraph)
    {
        (Values, _preparation, OtherGraph) = (values, preparation, otherGraph);
        _arrays = values.Values.Select(v => v.Data).ToArray();
        _rentals = WeightPool.Rentals(_arrays);
    }

    /// <summary>The file's weights by name, as <see cref="WeightSources.FromFile(string)"/> reads them.</summary>
    public IReadOnlyDictionary<string, WeightValue> Values { get; }

    /// <summary>
    /// An ONNX model read for an engine whose graph is not the one the engine was built from (its layers, their
    /// parameters or its input dimensions differ; Constant-node values and weight names may, see
    /// <see cref="NetworkStructure.Digest"/>). A refit then takes only its weights: the engine keeps computing its own
    /// graph, which names and shapes alone do not catch.
    /// </summary>
    public bool OtherGraph { get; }

    /// <summary>Reads a weights file; for <paramref name="engine"/>'s next refit, preparing its recipes while reading.</summary>
    /// <param name="rename">
    /// The engine's name for each name in the file (null: not one of its weights), as the refit will be given them.
    /// Called on this thread for a safetensors file; for an ONNX model as it is parsed, on either of the engine's
    /// threads, where a null prepares nothing for that weight (the refit then computes its recipes).
    /// </param>
    public static WeightFile Read(string path, Engines.TrtEngine? engine = null, Func<string, string?>? rename = null)
    {
        var native = engine?.Native;
        long derived = native?.DerivedWeightBytes ?? 0;
        var preparation = native is { Pool.ThreadCount: > 1 } && derived >= PrepareFromBytes ? new RefitPreparation(native) : null;
        bool otherGraph = false;
        void Imported(NetworkDefinition network) =>
            otherGraph = native is { Plan.StructureDigest: { Length: > 0 } built } && NetworkStructure.Digest(network) != built;
        // The model imported as the engine's was: the shapes it alone runs fill the model's dynamic dims.
        Func<int, string, int[], int[]?>? fixedShape = native is null ? null : (position, input, _) => ShapeProfiles.Fixed(native.Plan, position, input);
        // A preparation hands back the set the last refit swapped out while the file opens; an engine that has one thread
        // (one core) does it here, so the read rents those buffers instead of making a new set every refit. (A small
        // engine's refit lends the set to its own recipes in time: handing it back first cost tiny_mlp's ~30 µs refit a few µs.)
        if (preparation is null && derived >= PrepareFromBytes) native?.RecycleRetired();
        try
        {
            var values = preparation is null
                ? WeightSources.FromFile(path, WeightPool.Rent, imported: Imported, fixedShape: fixedShape)
                : WeightSources.FromFile(path, WeightPool.Rent,
                    name => (rename is null ? name : rename(name)) is { } target ? (data, start, end) => preparation.Supply(target, data, start, end) : null,
                    preparation.WhileReading, Imported, fixedShape);
            return new WeightFile(values, preparation, otherGraph);
        }
        catch
        {
            preparation?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Hands back every buffer no engine adopted (once: a buffer handed back may be rented again at once), and none that
    /// an engine adopted and recycled since, which another renter may hold now.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _preparation?.Dispose();
        WeightPool.ReturnRented(_arrays, _rentals);
    }
}
