using System.Collections.Concurrent;
using System.Diagnostics;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Verification;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using NativeEngine = TrtEngine.Native.Runtime.Engine;
using ExecutionContext = TrtEngine.Native.Runtime.ExecutionContext;

namespace TrtEngine.Core.Engines;

/// <summary>
/// An inference engine as users hold it: the built engine plus where it came from. Safe to run from several
/// threads at once and to refit while it runs (each inference sees the old weights or the new, never a mix).
/// Disposing it hands its weight memory to the next engines made in the process (an engine that is simply dropped
/// does so when the GC collects it); a disposed engine refuses every later use.
/// </summary>
public sealed class TrtEngine : IDisposable
{
    private readonly ConcurrentBag<ExecutionContext> _contexts = [];
    private int _refitCount;
    private string? _modelPath;

    internal TrtEngine(NativeEngine engine, string? modelPath, string? cacheKey, bool fromCache, TimeSpan buildTime, string? cacheDirectory)
    {
        Native = engine;
        _modelPath = modelPath;
        CacheKey = cacheKey;
        FromCache = fromCache;
        BuildTime = buildTime;
        CacheDirectory = cacheDirectory;
        var plan = engine.Plan;
        Inputs = plan.Inputs.Select((t, i) => new TrtTensorInfo
        {
            Name = plan.Tensors[t].Name, Shape = plan.Tensors[t].Dims, DataType = plan.InputTypes[i].ToString(),
            MinShape = plan.Profiles[i].Min, OptShape = plan.Profiles[i].Opt, MaxShape = plan.Profiles[i].Max,
        }).ToArray();
        Outputs = plan.Outputs.Select((t, o) => new TrtTensorInfo { Name = plan.Tensors[t].Name, Shape = plan.Tensors[t].Dims, DataType = plan.OutputTypes[o].ToString() }).ToArray();
    }

    internal NativeEngine Native { get; }

    public string Name => Native.Plan.Name;
    /// <summary>The ONNX model the engine was built from (or, for an imported plan, the first one it was refitted from); null if unknown.</summary>
    public string? ModelPath => Volatile.Read(ref _modelPath);
    public TrtTensorInfo[] Inputs { get; }
    public TrtTensorInfo[] Outputs { get; }

    /// <summary>Always true: every engine keeps its refit recipes, through export, import and the cache.</summary>
    public bool IsRefittable => true;

    public bool HasWeights => Native.HasWeights;

    /// <summary>True once disposed: the engine then refuses every use (EngineDisposedException).</summary>
    public bool IsDisposed => Native.IsDisposed;
    public string? CacheKey { get; }
    public bool FromCache { get; }

    /// <summary>
    /// Time the conversion took to produce this engine: reading the model, then the build and the cache insert on a
    /// miss, or the load and refit on a hit (the builder's own time is in -Verbose).
    /// </summary>
    public TimeSpan BuildTime { get; }

    public string? CacheDirectory { get; }
    public int LayerCount => Native.Plan.Layers.Length;
    public long WeightBytes => Native.WeightBytes;
    public int ModelWeightCount => Native.Plan.ModelWeights.Length;
    public int OptimizationLevel => Native.Plan.OptimizationLevel;
    public int RefitCount => Volatile.Read(ref _refitCount);

    /// <summary>Runs the engine. Shapes not given are inferred from the data length when one dimension is dynamic.</summary>
    public IReadOnlyList<TrtTensor> Run(IReadOnlyDictionary<string, float[]> inputs, IReadOnlyDictionary<string, int[]>? shapes = null)
    {
        var inputShapes = CheckInputs(inputs, shapes);
        if (!_contexts.TryTake(out var context)) context = Native.CreateExecutionContext();
        try
        {
            var data = new float[Inputs.Length][];
            for (int i = 0; i < Inputs.Length; i++)
            {
                context.SetInputShape(i, inputShapes[i]);
                data[i] = inputs[Inputs[i].Name];
            }
            var outputs = new float[Outputs.Length][];
            try
            {
                for (int o = 0; o < outputs.Length; o++) outputs[o] = new float[Shapes.ElementCount(context.GetOutputShape(o))];
            }
            catch (ShapeException e)
            {
                // Each shape fits its profile, yet the network cannot take them (two inputs' batches that differ): said
                // with the inputs, which the layer the network failed at does not name.
                string given = string.Join(", ", Inputs.Select((info, i) => $"{info.Name} {Shapes.Format(inputShapes[i])}"));
                throw new ShapeException($"Engine '{Name}' cannot run inputs of these shapes ({given}): {e.Message.TrimEnd('.')}." +
                    (Inputs.Length > 1 ? " Give inputs whose shapes fit together as the model relates them (a batch they share must be one size)." : ""));
            }
            context.Execute(data, outputs);
            return Outputs.Select((info, o) => new TrtTensor { Name = info.Name, Shape = (int[])context.GetOutputShape(o).Clone(), DataType = info.DataType, Data = outputs[o] }).ToArray();
        }
        finally
        {
            _contexts.Add(context);
        }
    }

    /// <summary>
    /// Checks inputs as <see cref="Run"/> takes them (each of the engine's inputs given under its name, its shape given
    /// or inferable, inside the engine's profile and matching its values, integer and bool inputs' values) and returns
    /// their shapes in the engine's input order; runs nothing.
    /// </summary>
    public int[][] CheckInputs(IReadOnlyDictionary<string, float[]> inputs, IReadOnlyDictionary<string, int[]>? shapes = null)
    {
        foreach (string name in inputs.Keys)
            if (!Inputs.Any(i => i.Name == name))
                throw new EngineInputException($"'{name}' is not an input of engine '{Name}'" +
                    // Names are matched exactly, as the model spells them; a PowerShell hashtable's keys are not.
                    (Inputs.FirstOrDefault(i => string.Equals(i.Name, name, StringComparison.OrdinalIgnoreCase)) is { } cased ? $": did you mean '{cased.Name}'? Input names are case-sensitive." : ".") +
                    $" Its inputs: {string.Join(", ", Inputs.Select(i => i.ToString()))}.");
        if (shapes is not null)
            foreach (string name in shapes.Keys)
                if (!inputs.ContainsKey(name)) throw new EngineInputException($"A shape was given for '{name}', which has no data (inputs given: {string.Join(", ", inputs.Keys)}).");
        var checkedShapes = new int[Inputs.Length][];
        for (int i = 0; i < Inputs.Length; i++)
        {
            var info = Inputs[i];
            if (!inputs.TryGetValue(info.Name, out var values))
                throw new EngineInputException($"Input '{info}' of engine '{Name}' was not given.");
            int[] shape = InferShape(info, values.LongLength, shapes?.GetValueOrDefault(info.Name));
            var profile = Native.Plan.Profiles[i];
            if (!profile.Contains(shape)) throw ExecutionContext.OutsideProfile(info.Name, shape, profile);
            if (Shapes.ElementCount(shape) != values.LongLength) throw ExecutionContext.WrongLength(info.Name, shape, values.LongLength);
            CheckValues(info, Native.Plan.InputTypes[i], values);
            checkedShapes[i] = shape;
        }
        return checkedShapes;
    }

    /// <summary>
    /// An integer or bool input's values, which the engine computes with as floats: integers float32 holds exactly
    /// (up to 2^24 in magnitude), and 0 or 1 for bool.
    /// </summary>
    private static void CheckValues(TrtTensorInfo info, ElementType type, float[] values)
    {
        if (type == ElementType.Float32) return;
        for (long k = 0; k < values.LongLength; k++)
        {
            float v = values[k];
            bool valid = type == ElementType.Bool ? v is 0f or 1f : MathF.Abs(v) <= 1 << 24 && v == MathF.Floor(v);
            if (!valid)
                throw new EngineInputException($"Input '{info}' is {type}: element {k} is {v}, {(type == ElementType.Bool ? "not 0 or 1 (false or true)" : "not an integer of at most 2^24 in magnitude, which TrtEngine computes with exactly")}.");
        }
    }

    /// <summary>
    /// The shape of an input's <paramref name="length"/> values: the engine's one dynamic dimension filled in, or a given
    /// shape's one −1 (as numpy's reshape takes it); any other given shape as it is, for the profile to check.
    /// </summary>
    internal static int[] InferShape(TrtTensorInfo info, long length, int[]? given = null)
    {
        int[] shape = (int[])(given ?? info.Shape).Clone();
        Predicate<int> open = given is null ? d => d < 0 : d => d == -1;
        int dynamic = Array.FindAll(shape, open).Length;
        if (dynamic == 0) return shape;
        long known = 1;
        foreach (int d in shape) if (!open(d)) known *= d;
        if (dynamic > 1 || known <= 0 || length % known != 0)
            throw new EngineInputException(given is null
                ? $"Cannot infer the shape of input '{info}' from {length} values; give the shape (Invoke-TrtEngine -InputShape @{{ {info.Name} = @(...) }}), or a tensor or .npy file that carries it."
                : $"-InputShape [{string.Join(", ", given)}] for input '{info}': " + (dynamic > 1 ? "only one dimension can be -1, the one the values' count gives"
                    : $"{length} values are no whole number of {known}, the other dimensions' product") + ".");
        shape[Array.FindIndex(shape, open)] = (int)(length / known);
        return shape;
    }

    /// <summary>Checks new weights against the engine and reports what a refit would change; changes nothing.</summary>
    public RefitCheck CheckRefit(IReadOnlyDictionary<string, WeightValue> weights, bool partial, bool allowNonFinite = false) =>
        new Refitter(Native).Check(weights, partial, allowNonFinite);

    /// <summary>The given model weights that would leave the engine bit-identical (what -WhatIf reports as unchanged).</summary>
    public IReadOnlyList<string> UnchangedWeights(IReadOnlyDictionary<string, WeightValue> weights) => new Refitter(Native).Unchanged(weights);

    /// <summary>
    /// Checks what verifying a refit with these weights needs (a model to run, every model weight supplied or kept, inputs
    /// the engine takes), as <see cref="Refit"/> does first when asked to verify; computes nothing.
    /// </summary>
    public void CheckVerification(IReadOnlyDictionary<string, WeightValue> weights, RefitVerificationOptions verify) => RefitVerifier.Check(this, weights, verify);

    /// <summary>
    /// Refits the engine weights derived from the given model weights, all or nothing: only those whose model weights
    /// changed are re-derived. With <paramref name="verify"/>, the refitted engine is first run aside on the given (or
    /// generated) inputs and compared with the reference execution of the model with the new weights; above the
    /// tolerance a <see cref="RefitVerificationException"/> is thrown and the engine keeps its previous weights.
    /// </summary>
    /// <param name="modelPath">
    /// The .onnx model the weights were read from, when its graph is the engine's: an engine that does not know its model
    /// (an imported plan) keeps it once the refit is done, so that later refits from checkpoints can be verified.
    /// </param>
    public RefitResult Refit(IReadOnlyDictionary<string, WeightValue> weights, bool partial = false, bool allowNonFinite = false, RefitVerificationOptions? verify = null,
                             string? modelPath = null)
    {
        var verifier = verify is null ? null : new Verifier(this, verify, RefitVerifier.Check(this, weights, verify));
        var outcome = new Refitter(Native).Refit(weights, partial, allowNonFinite, verify: verifier is null ? null : verifier.Check);
        Interlocked.Increment(ref _refitCount);
        if (modelPath is not null) Interlocked.CompareExchange(ref _modelPath, Path.GetFullPath(modelPath), null);
        return new RefitResult(Name, outcome.SuppliedCount, outcome.RecomputedCount)
        {
            Outcome = outcome, Verification = verifier?.Result,
        };
    }

    /// <summary>Runs -Verify on a refit's candidate and keeps the comparison (made only when asked for: a refit in a loop allocates little).</summary>
    private sealed class Verifier(TrtEngine engine, RefitVerificationOptions options, string modelPath)
    {
        public RefitVerification? Result { get; private set; }

        public void Check(NativeEngine candidate)
        {
            Result = RefitVerifier.Run(candidate, engine, options, modelPath);
            if (!Result.Passed) throw new RefitVerificationException(Result);
        }
    }

    /// <summary>Writes the engine plan; without weights it is small and still refittable.</summary>
    public void Export(Stream stream, bool includeWeights) => Native.Serialize(stream, includeWeights);

    /// <summary>Loads an exported engine plan (with or without weights). Plans do not record their model's path.</summary>
    public static TrtEngine Import(byte[] plan)
    {
        var watch = Stopwatch.StartNew();
        var engine = NativeEngine.Deserialize(plan);
        return new TrtEngine(engine, null, null, false, watch.Elapsed, null);
    }

    public void Dispose() => Native.Dispose();

    /// <summary>
    /// Lets the GC take the buffers that disposed engines left for the engines made next (up to 512 MB, kept by the
    /// process for reuse): for a host that is done with engines, such as the module being removed.
    /// </summary>
    public static void ReleasePooledBuffers() => WeightPool.Clear();

    public override string ToString() => $"{Name} ({string.Join(", ", Inputs.Select(i => i.ToString()))} → {string.Join(", ", Outputs.Select(o => o.ToString()))})";
}
