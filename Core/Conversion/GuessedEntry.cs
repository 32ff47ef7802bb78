using TrtEngine.Core.Cache;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Core.Conversion;

/// <summary>
/// The cache entry a model resolved to last time, loaded before the model is parsed so that its refit packs the
/// weights as they are parsed (on the engine's other thread) instead of after the import: a hit then costs about a
/// refit from the ONNX file, not a parse followed by a refit. Only a guess: the conversion computes the key from the
/// imported model as always and uses this engine only when the two keys agree; otherwise it is dropped, and the
/// loading and packing it did only cost time. Disposing hands back the results no refit took.
/// </summary>
internal sealed class GuessedEntry : IDisposable
{
    private readonly RefitPreparation? _preparation;

    private GuessedEntry(string key, Engine engine)
    {
        Key = key;
        Engine = engine;
        if (engine.Pool.ThreadCount > 1 && engine.WeightBytes >= MinWeightBytes) _preparation = new RefitPreparation(engine);
    }

    public string Key { get; }

    /// <summary>The entry's weight-stripped engine, to be refitted with the imported model's weights.</summary>
    public Engine Engine { get; }

    /// <summary>
    /// Below this many engine weight bytes the overlap does not pay: the parse slows by more than the refit saves
    /// (mlp, 2.1 MB: hits of 606 µs plain against 756 with the guess, at the 10th percentile of 50 in one process;
    /// SqueezeNet, 11.4 MB: 3.03 against 2.74 ms).
    /// </summary>
    internal const long MinWeightBytes = 4 << 20;

    /// <summary>
    /// The store's hinted entry for <paramref name="identity"/>, when it is intact; null otherwise, and a plan that
    /// does not load is left to the lookup that follows the import to report and remove. A hit on it loads nothing
    /// more; only an engine large enough for the overlap to pay is prepared.
    /// </summary>
    public static GuessedEntry? Load(IEngineStore store, string identity)
    {
        if (store.TryLoadHinted(identity) is not { Plan: { } plan, Manifest: { } manifest }) return null;
        Engine engine;
        try
        {
            engine = Engine.Deserialize(plan);
        }
        catch (PlanFormatException)
        {
            return null;
        }
        return new GuessedEntry(manifest.Key, engine);
    }

    /// <summary>
    /// Parses and imports the model while the entry's recipes run on the weights as they are parsed; null for an
    /// engine not prepared (the caller imports as it would without a guess).
    /// </summary>
    public NetworkDefinition? Import(string modelPath) => _preparation is not { } preparation ? null
        : WeightSources.ReadOnnx(modelPath, WeightPool.Rent, name => (data, start, end) => preparation.Supply(name, data, start, end), preparation.WhileReading);

    public void Dispose() => _preparation?.Dispose();
}
