using TrtEngine.Core.Cache;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Core.Conversion;

/// <summary>
/// The cache entry a model resolved to last time (the store's <see cref="CacheHint"/>), loaded while the model is
/// parsed instead of after: a large engine's while the model file is read, before the parse, so that its refit packs
/// the weights as they are parsed (on the engine's other thread), a small one's on the other thread beside the parse. A hit then costs about a refit from the
/// ONNX file, or a parse, instead of a parse followed by a lookup and a refit. Only a guess: the conversion computes
/// the key from the imported model as always and uses this engine only when the two keys agree; otherwise it is
/// dropped, and what it loaded and packed only cost time. Disposing hands back the results no refit took.
/// </summary>
internal sealed class GuessedEntry : IDisposable
{
    /// <summary>
    /// Below this many engine weight bytes a prepared refit does not pay: the parse slows by more than the refit saves
    /// (mlp, 2.1 MB: hits of 606 µs plain against 756 prepared, at the 10th percentile of 50 in one process; SqueezeNet,
    /// 11.4 MB: 3.03 against 2.74 ms).
    /// </summary>
    internal const long MinWeightBytes = 4 << 20;

    private readonly RefitPreparation? _preparation;

    private GuessedEntry(string key, Engine engine, bool prepare)
    {
        Key = key;
        Engine = engine;
        if (prepare && engine.Pool.ThreadCount > 1) _preparation = new RefitPreparation(engine);
    }

    public string Key { get; }

    /// <summary>The entry's weight-stripped engine, to be refitted with the imported model's weights.</summary>
    public Engine Engine { get; }

    /// <summary>
    /// Imports the model with <paramref name="import"/>, loading the entry the store's hint for
    /// <paramref name="identity"/> names as described above (beside the parse whatever its size when the hit will not
    /// be refitted); the entry is null when there is no hint or it names no intact entry (a plan that does not load is
    /// left to the lookup that follows the import to report and remove).
    /// </summary>
    /// <param name="fixedShape">The shapes the import fixes, as <paramref name="import"/> does (the prepared import's too).</param>
    /// <param name="check">What <paramref name="import"/> checks of the model before importing it, which the prepared import checks too.</param>
    public static (NetworkDefinition Network, GuessedEntry? Guess) Import(IEngineStore store, string identity, string modelPath, Func<NetworkDefinition> import,
                                                                          bool refit, Func<int, string, int[], int[]?> fixedShape, Action<OnnxModel> check)
    {
        if (store.Hint(identity) is not { } hint) return (import(), null);
        if (!refit || hint.WeightBytes < MinWeightBytes)
        {
            var beside = new LoadBesideImport(store, hint.Key, import);
            WorkerPool.Shared.For(2, beside);
            return (beside.Network!, beside.Guess);
        }
        // The entry's load (its files verified and read, its plan deserialized: ~430 µs for SqueezeNet's, serial
        // before the parse until now) beside the read of the model's bytes, which the parse then finds in memory.
        using var file = ProgressiveFile.Open(modelPath);
        var loadBeside = new LoadBesideRead(store, hint.Key, file);
        try
        {
            WorkerPool.Shared.For(2, loadBeside);
            return (loadBeside.Guess?.ImportPrepared(file, fixedShape, check) ?? import(), loadBeside.Guess);
        }
        catch
        {
            loadBeside.Guess?.Dispose();
            throw;
        }
    }

    private static GuessedEntry? Load(IEngineStore store, string key, bool prepare)
    {
        if (store.TryPeek(key) is not { Plan: { } plan }) return null;
        try
        {
            return new GuessedEntry(key, Engine.Deserialize(plan), prepare);
        }
        catch (PlanFormatException)
        {
            return null;
        }
    }

    /// <summary>Parses and imports the model while the entry's recipes run on the weights as they are parsed (null: not prepared).</summary>
    private NetworkDefinition? ImportPrepared(ProgressiveFile file, Func<int, string, int[], int[]?> fixedShape, Action<OnnxModel> check) => _preparation is not { } preparation ? null
        : WeightSources.ReadOnnx(file.Path, WeightPool.Rent, name => (data, start, end) => preparation.Supply(name, data, start, end), preparation.WhileReading, fixedShape, file, check);

    public void Dispose() => _preparation?.Dispose();

    /// <summary>The model file's read on one of the pool's threads and the entry's load (prepared) on the other.</summary>
    private sealed class LoadBesideRead(IEngineStore store, string key, ProgressiveFile file) : IParallelTask
    {
        public GuessedEntry? Guess { get; private set; }

        public void Execute(int index)
        {
            if (index == 0) file.ReadAll();
            else Guess = Load(store, key, prepare: true);
        }
    }

    /// <summary>The import on one of the pool's threads and the entry's load on the other.</summary>
    private sealed class LoadBesideImport(IEngineStore store, string key, Func<NetworkDefinition> import) : IParallelTask
    {
        public NetworkDefinition? Network { get; private set; }

        public GuessedEntry? Guess { get; private set; }

        public void Execute(int index)
        {
            if (index == 0) Network = import();
            else Guess = Load(store, key, prepare: false);
        }
    }
}
