using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Fixtures;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Bench;

/// <summary>
/// Inference latency of TrtEngine against ONNX Runtime (CPU, same machine, same process), build and cache-hit
/// times, and refit time. Prints a Markdown table; ratios above 1 mean TrtEngine is faster.
/// usage: TrtEngine.Bench [--quick] [--model NAME]... [--refit-only] [--latency-only] [--cache-only] [--single-thread]
/// --model keeps only the models named; --refit-only prints only the refit tables; --latency-only stops after the
/// latency and per-layer tables; --cache-only prints only the cache-hit and build-time tables; --single-thread runs both (and the refit tables' engines) on one thread and times the calling thread's CPU time
/// instead of the wall clock, which other processes on a busy machine disturb far less (Linux; elsewhere the wall clock).
/// </summary>
public static class Program
{
    private static bool s_singleThread;

    public static int Main(string[] args)
    {
        bool quick = args.Contains("--quick"), latencyOnly = args.Contains("--latency-only"), cacheOnly = args.Contains("--cache-only");
        s_singleThread = args.Contains("--single-thread");
        string root = FindRoot();
        string shared = Path.GetFullPath(Path.Combine(root, "..", "shared", "models"));
        string examples = Path.Combine(root, "examples", "models");
        // Each model with a second weight file of its structure, for refits that change every weight.
        var models = new List<(string Name, string Path, string OtherWeights, int[] Sample, int[] Batches)>
        {
            ("tiny_mlp", Path.Combine(examples, "tiny_mlp.onnx"), Path.Combine(examples, "tiny_mlp.ckpt2.safetensors"), [64], [1, 4, 64]),
        };
        foreach (var (name, sample, batches) in new (string, int[], int[])[] { ("mlp", [784], [1, 4, 64]), ("mobilenet_v2", [3, 224, 224], [1, 8]), ("squeezenet1_1", [3, 224, 224], [1, 8]) })
            if (File.Exists(Path.Combine(shared, name + "_v1.onnx"))) models.Add((name, Path.Combine(shared, name + "_v1.onnx"), Path.Combine(shared, name + "_v2.onnx"), sample, batches));
        // The repository's seeded fixtures, written out with their v1 and v2 weights.
        string seeded = Path.Combine(Path.GetTempPath(), "trtengine-bench-models-" + Environment.ProcessId);
        foreach (string name in new[] { "resnet18", "efficientnet_b0", "shufflenet_v2_x1_0", "regnet_y_400mf", "mobilenet_v3_small", "densenet121", "vit_ti_16" })
        {
            var fixture = SeededModel.Load(Path.Combine(root, "tests", "fixtures", "models"), name);
            models.Add((name, fixture.Materialize(Path.Combine(seeded, name), version: 1), fixture.Materialize(Path.Combine(seeded, name + "_v2"), version: 2), [3, 224, 224], [1, 8]));
        }
        foreach (string name in new[] { "lstm", "gru" })
            models.Add((name, SequenceModels.Write(seeded, name, version: 1), SequenceModels.Write(seeded, name, version: 2), [SequenceModels.Steps, SequenceModels.Features], [1, 8]));

        var only = args.Select((a, i) => (a, i)).Where(p => p.a == "--model" && p.i + 1 < args.Length).Select(p => args[p.i + 1]).ToHashSet();
        if (only.Count > 0) models.RemoveAll(m => !only.Contains(m.Name));
        if (models.Count == 0) { Console.Error.WriteLine("No model to benchmark."); return 2; }
        if (args.Contains("--refit-only"))
        {
            RefitTables(models.Select(m => (m.Name, m.Path, m.OtherWeights)).ToList());
            Directory.Delete(seeded, recursive: true);
            return 0;
        }

        Console.WriteLine($"TrtEngine vs ONNX Runtime {OrtEnv.Instance().GetVersionString()}, {(s_singleThread ? "1 thread, CPU time" : $"{Environment.ProcessorCount} threads")}, {TrtEngine.Native.Plan.HardwareInfo.CurrentInstructionSet}");
        Console.WriteLine();
        if (!cacheOnly)
        {
            Console.WriteLine("| model | batch | TrtEngine µs | ONNX Runtime µs | speed-up | rel. L2 vs ORT |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach (var model in models)
                foreach (int batch in model.Batches)
                    Latency(model.Name, model.Path, model.Sample, batch, quick ? 200 : 2000);
            Console.WriteLine();
            Console.WriteLine("Where TrtEngine spends its time at batch 1 (share of layer time by layer type):");
            Console.WriteLine();
            foreach (var model in models) Profile(model.Name, model.Path, model.Sample);
            if (latencyOnly)
            {
                Directory.Delete(seeded, recursive: true);
                return 0;
            }
            Console.WriteLine();
        }
        Console.WriteLine("Cache hit against a cold build and against its floor, reading and parsing the model's weights (targets: ≥ 20× and ≤ 2×):");
        Console.WriteLine();
        Console.WriteLine("| model | cold build ms | cache hit ms | cold / hit | read+parse weights ms | hit / read+parse | refit from file ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var model in models) BuildAndCache(model.Name, model.Path);
        Console.WriteLine();
        Console.WriteLine("Build time: cold (empty timing cache), with a warm timing cache, and with no timing at all (level 0):");
        Console.WriteLine();
        Console.WriteLine("| model | cold build ms | timing tactics (cold − level 0) | warm timing cache ms | level 0 ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var model in models.Where(m => m.Name is "resnet18" or "mobilenet_v2")) BuildTime(model.Name, model.Path);
        Console.WriteLine();
        if (!cacheOnly) RefitTables(models.Select(m => (m.Name, m.Path, m.OtherWeights)).ToList());
        Directory.Delete(seeded, recursive: true);
        return 0;
    }

    private static void RefitTables(List<(string Name, string Path, string OtherWeights)> models)
    {
        Console.WriteLine("Refit cost against its floors (ratios; the targets are ≤ 2× a copy and ≤ 1.5× reading the file). A changing refit");
        Console.WriteLine("alternates two weight sets, so every recipe runs (values parsed from the files, which the engine adopts; a caller's");
        Console.WriteLine("arrays, which it must copy); a same-weights refit supplies the arrays the engine holds again. Times (µs) are");
        Console.WriteLine($"10th percentiles of rounds that run each column's work in turn{(s_singleThread ? " (engines on one thread; the calling thread's CPU time)" : "")}; the file columns");
        Console.WriteLine("each start with the file in the page cache and none of it in the CPU's caches, as a loop over checkpoints reads them:");
        Console.WriteLine();
        Console.WriteLine("| model | copy engine weights | refit, all change | ratio | caller's arrays | ratio | refit, same weights | ratio | read+parse file | refit from file | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var model in models) RefitCost(model.Name, model.Path, model.OtherWeights);
        Console.WriteLine();
        Console.WriteLine("The same from safetensors checkpoints of the two weight sets (a plain read into each tensor's buffer, no parsing),");
        Console.WriteLine("and the memory traffic alone of a refit that writes the engine's weights (no reading back, no transforms): the file read on one of the engine's threads");
        Console.WriteLine("while the other only streams as many bytes as the engine's weights hold (no packing), timed against the same floor; and from torch");
        Console.WriteLine("checkpoints of the two weight sets (torch.save's zip layout: a pickle, then each tensor's storage):");
        Console.WriteLine();
        Console.WriteLine("| model | read file | refit from file | ratio | read file | read beside writing the engine's weights | ratio | read torch checkpoint | refit from it | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var halfWidth = models.Select(model => CheckpointRefitCost(model.Name, model.Path, model.OtherWeights)).ToList();
        Console.WriteLine();
        Console.WriteLine("The same from half-width checkpoints, as training jobs often save them: safetensors files of float16 values and torch");
        Console.WriteLine("checkpoints of bfloat16 ones (their floors read them, converting every value to float32):");
        Console.WriteLine();
        Console.WriteLine("| model | read float16 safetensors | refit from it | ratio | read bfloat16 torch checkpoint | refit from it | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        halfWidth.ForEach(Console.WriteLine);
        Console.WriteLine();
        RefitMemory(models[0].Name, models[0].Path, models[0].OtherWeights, fromFiles: false);
        // From files too, where the weight pool and a preparation's threads take part: the first CNN listed.
        var files = models.FirstOrDefault(m => m.Name == "squeezenet1_1", models[0]);
        RefitMemory(files.Name, files.Path, files.OtherWeights, fromFiles: true);
    }

    private static void Latency(string name, string path, int[] sample, int batch, int iterations)
    {
        const string input = "input";
        int[] shape = [batch, .. sample];
        // Tuned for the batch it runs, as a TensorRT user would set the profile's opt shape.
        var engine = EngineConverter.Convert(path, new ConversionSettings
        {
            UseCache = false,
            Threads = s_singleThread ? 1 : null,
            MinShapes = new Dictionary<string, int[]> { [input] = [1, .. sample] },
            OptShapes = new Dictionary<string, int[]> { [input] = shape },
            MaxShapes = new Dictionary<string, int[]> { [input] = [Math.Max(batch, 64), .. sample] },
        });
        float[] x = ErrorMetrics.RandomValues(batch, shape.Aggregate(1L, (a, d) => a * d));
        var inputs = new Dictionary<string, float[]> { [input] = x };
        var shapes = new Dictionary<string, int[]> { [input] = shape };

        // ONNX Runtime with its defaults: all graph optimisations, one intra-op thread per core.
        using var options = new SessionOptions();
        if (s_singleThread) options.IntraOpNumThreads = options.InterOpNumThreads = 1;
        var ortInput = new DenseTensor<float>(x, shape);
        var feeds = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(input, ortInput) };
        var (session, spinning) = OrtSession(path, options, feeds);
        using var _ = session;
        float[] ortOut = [];
        float[] ours = [];
        // Five calls of each per round: the first call after the other runtime pays for its worker threads still
        // spinning (TrtEngine's for 50 µs) or waking, and the median leaves it out. Where ONNX Runtime's threads spin on
        // after a run (see OrtSession), each turn lasts about TurnMicroseconds, three turns each, so that the calls
        // its spinning slows at the start of TrtEngine's turns stay a minority the median leaves out.
        int calls = spinning is { } fastest ? (int)Math.Max(5, TurnMicroseconds / fastest) : 5;
        double[] medians = Medians(spinning is null ? iterations : 3 * calls, [() => ours = engine.Run(inputs, shapes)[0].Data, () =>
        {
            using var results = session.Run(feeds);
            ortOut = results[0].AsEnumerable<float>().ToArray();
        }], calls);
        double trt = medians[0], ort = medians[1];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {batch} | {trt:F1} | {ort:F1} | {ort / trt:F2}× | {ErrorMetrics.RelativeL2(ours, ortOut):E1} |"));
    }

    private static void Profile(string name, string path, int[] sample)
    {
        var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, InputShapes = new Dictionary<string, int[]> { ["input"] = [1, .. sample] } });
        var context = engine.Native.CreateExecutionContext();
        float[][] inputs = [ErrorMetrics.RandomValues(1, sample.Aggregate(1L, (a, d) => a * d))];
        float[][] outputs = [new float[context.GetOutputShape(0).Aggregate(1L, (a, d) => a * d)]];
        var warmup = Stopwatch.StartNew();
        while (warmup.ElapsedMilliseconds < 1000) context.Execute(inputs, outputs);
        var plan = engine.Native.Plan;
        context.LayerMicroseconds = new double[plan.Layers.Length];
        for (int i = 0; i < 20; i++) context.Execute(inputs, outputs);
        double total = context.LayerMicroseconds.Sum();
        // Convolutions and GEMMs also show their arithmetic rate (direct-convolution FLOPs per second, whatever the algorithm).
        var shares = plan.Layers.Select((layer, i) => (Type: layer is TrtEngine.Native.Layers.ConvLayer conv ? $"Conv ({conv.AlgorithmName})" : layer.Kind.ToString(),
                Time: context.LayerMicroseconds[i], Flops: Flops(layer, context, plan)))
            .GroupBy(s => s.Type).Select(g => $"{g.Key} {100 * g.Sum(s => s.Time) / total:F0}%{(g.Sum(s => s.Flops) > 0 ? $" at {g.Sum(s => s.Flops) * 20 / g.Sum(s => s.Time) / 1e3:F0} GFLOP/s" : "")}").OrderBy(s => s);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- {name}: {total / 20:F0} µs per call; {string.Join(", ", shares)}"));
    }

    private static double Flops(TrtEngine.Native.Layers.Layer layer, TrtEngine.Native.Runtime.ExecutionContext context, TrtEngine.Native.Plan.EnginePlan plan)
    {
        switch (layer)
        {
            case TrtEngine.Native.Layers.ConvLayer conv:
                int[] w = plan.Weights[conv.W.Index].Shape, y = context.GetTensorShape(conv.Output);
                return 2.0 * y.Aggregate(1L, (a, d) => a * d) * w[1] * w[2] * w[3];
            case TrtEngine.Native.Layers.GemmLayer gemm:
                long a = context.GetTensorShape(gemm.A.Index).Aggregate(1L, (p, d) => p * d);
                return 2.0 * a * gemm.N; // m·k elements of A, each multiplied into n columns
            default:
                return 0;
        }
    }

    private static void BuildAndCache(string name, string path)
    {
        string dir = Path.Combine(Path.GetTempPath(), "trtengine-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new ConversionSettings { CacheDirectory = dir };
            var cold = Stopwatch.StartNew();
            using var engine = EngineConverter.Convert(path, settings);
            double coldMs = cold.Elapsed.TotalMilliseconds;
            // Hits and parses alternate, so load from other processes falls on both alike. Each hit's engine is
            // disposed, as a careful caller does with an engine it is done with (the dispose is timed with the hit).
            double[] medians = Medians(10, [() => EngineConverter.Convert(path, settings).Dispose(), () => WeightFile.Read(path).Dispose()]);
            double hitMs = medians[0] / 1000, parseMs = medians[1] / 1000;
            double refitMs = Median(10, () => RefitFromFile(engine, path)) / 1000;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {coldMs:F0} | {hitMs:F1} | {coldMs / hitMs:F1}× | {parseMs:F1} | {hitMs / parseMs:F2}× | {refitMs:F1} |"));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static void BuildTime(string name, string path)
    {
        string dir = Path.Combine(Path.GetTempPath(), "trtengine-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            double Build(ConversionSettings settings)
            {
                var watch = Stopwatch.StartNew();
                EngineConverter.Convert(path, settings);
                return watch.Elapsed.TotalMilliseconds;
            }
            // -Force rebuilds through the cache directory, whose timing cache the cold build filled.
            var cached = new ConversionSettings { CacheDirectory = dir, Force = true };
            double cold = Build(cached);
            double warm = Build(cached);
            double untimed = Build(new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {cold:F0} | {cold - untimed:F0} ms ({100 * (cold - untimed) / cold:F0}%) | {warm:F0} | {untimed:F0} |"));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Refit against its floors: copying the engine's weight bytes, and reading and parsing the weight files.
    /// Changing refits alternate two weight sets (or files); the floors are measured on the same buffers and files,
    /// interleaved with what they bound, so a busy machine slows both alike.
    /// </summary>
    private static void RefitCost(string name, string path, string otherWeights)
    {
        var engine = RefitEngine(path);
        var weights = new[] { WeightSources.FromFile(path), WeightSources.FromFile(otherWeights) };
        // The same values as a caller's own arrays (as a hashtable of arrays arrives), which a refit must copy.
        var callers = weights.Select(w => w.ToDictionary(e => e.Key, e => e.Value with { Immutable = false })).ToArray();
        // The floor is copying the engine's weight bytes (a Winograd layer's transformed weight is 4×, 25/9 or 16/9 its model weight).
        var buffers = engine.Native.CurrentWeights!.Buffers;
        var copies = buffers.Select(b => new float[b.Length]).ToArray();
        int turn = 0;
        double[] memory = InterleavedLowTimes(100, null,
            () => { for (int i = 0; i < buffers.Length; i++) buffers[i].AsSpan().CopyTo(copies[i]); },
            () => engine.Refit(callers[++turn % 2]),
            () => engine.Refit(weights[++turn % 2]),
            () => engine.Refit(weights[turn % 2]));
        string[] files = [path, otherWeights];
        double[] file = InterleavedLowTimes(200, ClearCaches, () => WeightFile.Read(files[turn % 2]).Dispose(), () => RefitFromFile(engine, files[++turn % 2]));
        double copy = memory[0], caller = memory[1], changing = memory[2], same = memory[3], parse = file[0], fromFile = file[1];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {copy:F1} | {changing:F1} | {changing / copy:F2}× | {caller:F1} | {caller / copy:F2}× | {same:F1} | {same / copy:F2}× | {parse:F1} | {fromFile:F1} | {fromFile / parse:F2}× |"));
    }

    /// <summary>
    /// The engine the refit tables refit: tuned as users build it (the default level), since the tactics decide how
    /// many bytes a refit writes (a tuned ResNet-18 keeps 13 of its 3×3 layers in Winograd form, three of them in F(2×2),
    /// and holds 97 MB of engine weights; with F(4×4) in all 13 it held 156 MB).
    /// </summary>
    private static TrtEngine.Core.Engines.TrtEngine RefitEngine(string path) =>
        EngineConverter.Convert(path, new ConversionSettings { UseCache = false, Threads = s_singleThread ? 1 : null });

    /// <summary>
    /// A refit from a safetensors checkpoint, and from a torch checkpoint, against reading it, alternating checkpoints
    /// written from the two weight sets; the row of the half-width table (float16 safetensors, bfloat16 torch) returned.
    /// </summary>
    private static string CheckpointRefitCost(string name, string path, string otherWeights)
    {
        var engine = RefitEngine(path);
        string dir = Path.Combine(Path.GetTempPath(), "trtengine-bench-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // A half-width checkpoint holds the parameters, as a state dict does: a constant of the graph (a scale the
            // export wrote) rounded to half width would differ from the value the build folded, which a refit refuses.
            var parameters = engine.Native.Plan.ModelWeights.Where(m => m.Kind == WeightKind.Parameter).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
            string[] Write(string extension, Action<string, IEnumerable<(string, int[], float[])>> write, bool parametersOnly = false) =>
                new[] { path, otherWeights }.Select((source, i) =>
                {
                    string file = Path.Combine(dir, $"{name}_{i + 1}{extension}");
                    write(file, WeightSources.FromFile(source).Where(w => !parametersOnly || parameters.Contains(w.Key)).Select(w => (w.Key, w.Value.Shape, w.Value.Data)));
                    return file;
                }).ToArray();
            string[] files = Write(".safetensors", (file, tensors) => SafetensorsWriter.Write(file, tensors));
            string[] torch = Write(".pt", (file, tensors) => TorchCheckpointWriter.Write(file, tensors));
            int turn = 0;
            Action Floor(string[] pair) => () => WeightFile.Read(pair[turn % 2]).Dispose();
            double[] FromFiles(string[] pair) => InterleavedLowTimes(200, ClearCaches, Floor(pair), () => RefitFromFile(engine, pair[++turn % 2]));
            double[] times = FromFiles(files);
            var writes = new ReadBesideWrites(engine.Native, () => files[++turn % 2]);
            double[] bound = InterleavedLowTimes(200, ClearCaches, Floor(files), writes.Run);
            writes.Dispose();
            double[] fromTorch = FromFiles(torch);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {times[0]:F1} | {times[1]:F1} | {times[1] / times[0]:F2}× | {bound[0]:F1} | {bound[1]:F1} | {bound[1] / bound[0]:F2}× | {fromTorch[0]:F1} | {fromTorch[1]:F1} | {fromTorch[1] / fromTorch[0]:F2}× |"));
            double[] half = FromFiles(Write(".f16.safetensors", (file, tensors) => SafetensorsWriter.Write(file, tensors, "F16"), parametersOnly: true));
            double[] brain = FromFiles(Write(".bf16.pt", (file, tensors) => TorchCheckpointWriter.Write(file, tensors, dtype: "BF16"), parametersOnly: true));
            return string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {half[0]:F1} | {half[1]:F1} | {half[1] / half[0]:F2}× | {brain[0]:F1} | {brain[1]:F1} | {brain[1] / brain[0]:F2}× |");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// A file read as a refit reads it, into buffers held until the next read (as an engine holds the values it
    /// adopts), on one of the engine's threads while the other streams the engine's weight bytes into one of two sets
    /// (as a refit packs into the set the refit before last released), from a small buffer that stays in cache: the
    /// memory traffic of a refit from the file without its arithmetic (the weights a refit writes: not those that are a
    /// model value as it is). An engine too small for a refit to share its file's read between threads has both done in
    /// turn on the calling thread, as its refit does (waking the other thread would cost more than tiny_mlp's read).
    /// </summary>
    private sealed unsafe class ReadBesideWrites(Engine engine, Func<string> nextFile) : IParallelTask, IDisposable
    {
        // Only what a refit writes: an engine weight that is a model value as it is (an identity recipe) is the read's own array.
        private readonly float[][][] _sets = [.. Enumerable.Range(0, 2).Select(_ => engine.Plan.Weights.Where(w => w.Recipe.Kind != TrtEngine.Native.Plan.RecipeKind.Identity)
            .Select(w => GC.AllocateUninitializedArray<float>(checked((int)w.Length), pinned: true)).ToArray())];
        private readonly float[] _source = GC.AllocateArray<float>(1 << 14, pinned: true);
        private WeightFile? _held;
        private int _round;

        public void Run()
        {
            _round++;
            if (engine.WeightBytes >= WeightFile.PrepareFromBytes) engine.Pool.For(2, this);
            else
            {
                Execute(0);
                Execute(1);
            }
        }

        public void Execute(int index)
        {
            if (index == 0)
            {
                var read = WeightFile.Read(nextFile());
                _held?.Dispose();
                _held = read;
                return;
            }
            fixed (float* source = _source)
                foreach (var buffer in _sets[_round % 2])
                    fixed (float* destination = buffer)
                        for (int i = 0; i < buffer.Length; i += _source.Length)
                            CopyKernels.Stream(source, destination + i, Math.Min(_source.Length, buffer.Length - i));
            CopyKernels.EndStream();
        }

        public void Dispose() => _held?.Dispose();
    }

    /// <summary>
    /// A refit from a file as Update-TrtEngineWeights -Path runs it: read into recycled buffers (as the floor reads,
    /// parses and hands back) by two of the engine's threads, each running the recipes its read completed.
    /// </summary>
    private static void RefitFromFile(TrtEngine.Core.Engines.TrtEngine engine, string path)
    {
        using var weights = WeightFile.Read(path, engine);
        engine.Refit(weights.Values);
    }

    /// <summary>
    /// The 10th-percentile microseconds of each action, run in turn (one call of each per round) after a one-second
    /// warm-up: on a shared machine the median of sub-millisecond calls measures the other tenants, a low percentile
    /// the work itself, and both sides of a ratio are taken the same way (with --single-thread, in CPU time).
    /// <paramref name="before"/>, when given, runs untimed ahead of each action.
    /// </summary>
    private static double[] InterleavedLowTimes(int rounds, Action? before, params Action[] runs)
    {
        var warmup = Stopwatch.StartNew();
        while (warmup.ElapsedMilliseconds < 1000)
            foreach (var run in runs)
            {
                before?.Invoke();
                run();
            }
        var times = runs.Select(_ => new List<double>(rounds)).ToArray();
        var budget = Stopwatch.StartNew();
        while (times[0].Count < rounds && (times[0].Count < 5 || budget.ElapsedMilliseconds < 10000))
            for (int r = 0; r < runs.Length; r++)
            {
                before?.Invoke();
                double start = Now();
                runs[r]();
                times[r].Add(Now() - start);
            }
        return times.Select(t => t.Order().ElementAt(t.Count / 10)).ToArray();
    }

    private static readonly long[] s_cacheSweep = CacheSweep();

    /// <summary>Written once, so its pages are real memory (untouched ones all map to one page of zeros).</summary>
    private static long[] CacheSweep()
    {
        var sweep = new long[96 << 20 >> 3];
        Array.Fill(sweep, 1);
        return sweep;
    }

    /// <summary>
    /// Reads a line in every 64 bytes of a 96 MB buffer, three times this machine's last-level cache, so that the next
    /// action finds a file's bytes in the page cache and none in the CPU's caches, as a loop over checkpoints reads each
    /// one. Both sides of a file ratio start so: otherwise the floor reads the very file the refit before it read, from
    /// L3, and the refit the one read two steps earlier (SqueezeNet's safetensors, one process: read 788–846 µs warm,
    /// 1,131–1,169 cleared; refit 1,132–1,158 and 1,327–1,482).
    /// </summary>
    private static void ClearCaches()
    {
        long sum = 0;
        for (int i = 0; i < s_cacheSweep.Length; i += 8) sum += s_cacheSweep[i];
        GC.KeepAlive(sum);
    }

    /// <summary>
    /// Managed memory after 1,000 refits against after 100, alternating two weight sets (or reading the two weight files in
    /// turn, as a loop over checkpoints does): a leak would grow with the count. The buffers waiting in the weight pool
    /// are left out (what the tables before left there is dropped over the next collections); its size is shown.
    /// </summary>
    private static void RefitMemory(string name, string path, string otherWeights, bool fromFiles)
    {
        Action<int> refit;
        if (fromFiles)
        {
            var tuned = RefitEngine(path);
            string[] files = [path, otherWeights];
            refit = i => RefitFromFile(tuned, files[i % 2]);
        }
        else
        {
            var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
            var weights = new[] { WeightSources.FromFile(path), WeightSources.FromFile(otherWeights) };
            refit = i => engine.Refit(weights[i % 2]);
        }
        for (int i = 0; i < 100; i++) refit(i);
        var (before, pooledBefore) = Settled();
        for (int i = 0; i < 1000; i++) refit(i);
        var (after, pooledAfter) = Settled();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Memory over 1,000 refits of {name} {(fromFiles ? "from its two weight files in turn" : "alternating two weight sets in memory")}, outside the weight pool: {before / 1024.0:F0} KiB after 100, {after / 1024.0:F0} KiB after 1,100 ({(after - before) / 1024:+0;-0;0} KiB); the pool held {pooledBefore / 1024.0:F0} and {pooledAfter / 1024.0:F0} KiB."));

        // Engines the tables before dropped hand their buffers to the pool from their finalizers, and the pool drops what
        // waited through two full collections: a few rounds settle both before anything is counted.
        static (long Outside, long Pooled) Settled()
        {
            for (int round = 0; round < 4; round++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            long total = GC.GetTotalMemory(forceFullCollection: true), pooled = TrtEngine.Native.Runtime.WeightPool.PooledBytes;
            return (total - pooled, pooled);
        }
    }

    /// <summary>
    /// Median microseconds per call after a one-second warm-up (.NET compiles hot code fully only after it has run a
    /// while), over the given number of calls or five seconds, whichever ends first.
    /// </summary>
    private static double Median(int iterations, Action run) => Medians(iterations, [run])[0];

    /// <summary>
    /// <see cref="Median"/> of several actions run alternately (<paramref name="calls"/> timed calls of each per round),
    /// so load from other processes on a shared machine falls on all of them alike; the warm-up and time limit grow
    /// with their number.
    /// </summary>
    private static double[] Medians(int iterations, Action[] runs, int calls = 1)
    {
        var warmup = Stopwatch.StartNew();
        while (warmup.ElapsedMilliseconds < 1000 * runs.Length)
            foreach (var run in runs) run();
        var times = runs.Select(_ => new List<double>(iterations)).ToArray();
        var budget = Stopwatch.StartNew();
        while (times[0].Count < iterations && (times[0].Count < 5 || budget.ElapsedMilliseconds < 5000 * runs.Length))
            for (int r = 0; r < runs.Length; r++)
                for (int c = 0; c < calls; c++)
                {
                    double start = Now();
                    runs[r]();
                    times[r].Add(Now() - start);
                }
        return times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
    }

    /// <summary>
    /// An ONNX Runtime session for the turns with TrtEngine, and, where its threads spin on after a run, its fastest
    /// call in µs. By default they spin for ~40 ms of CPU here: through TrtEngine's turns, whose second thread they
    /// starve (SqueezeNet's batch-1 calls 4.5 -> 7.5 ms on this 2-core VM; mlp's at batch 1 19 µs alone, 40 in turns
    /// of five). Where a call takes a millisecond or more, they are told to stop when a run returns (they still spin
    /// within one); each run then wakes them, 2% of such a call at most. Shorter calls keep the default, as waking
    /// would add 30-50% to an MLP's call; their turns are long instead (see Latency).
    /// </summary>
    private static (InferenceSession Session, double? SpinningCallMicroseconds) OrtSession(string path, SessionOptions options, List<NamedOnnxValue> feeds)
    {
        var session = new InferenceSession(path, options);
        double fastest = FastestOf(5, () => session.Run(feeds).Dispose());
        if (fastest < 1000) return (session, fastest);
        session.Dispose();
        options.AddSessionConfigEntry("session.force_spinning_stop", "1");
        return (new InferenceSession(path, options), null);
    }

    /// <summary>
    /// The length of a turn with an ONNX Runtime session whose threads spin on after a run: several times the ~40 ms
    /// they spin into TrtEngine's turn.
    /// </summary>
    private const double TurnMicroseconds = 200_000;

    /// <summary>The fastest of <paramref name="count"/> calls, in microseconds.</summary>
    private static double FastestOf(int count, Action run)
    {
        double fastest = double.MaxValue;
        for (int i = 0; i < count; i++)
        {
            double start = Now();
            run();
            fastest = Math.Min(fastest, Now() - start);
        }
        return fastest;
    }

    /// <summary>Microseconds: the calling thread's CPU time with --single-thread on Linux, else the wall clock.</summary>
    private static double Now()
    {
        if (s_singleThread && OperatingSystem.IsLinux() && ThreadCpuTime.Read(out var time) == 0)
            return time.Seconds * 1e6 + time.Nanoseconds / 1e3;
        return Stopwatch.GetTimestamp() * 1e6 / Stopwatch.Frequency;
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Module.sln"))) return d.FullName;
        throw new InvalidOperationException("Module.sln not found above " + AppContext.BaseDirectory);
    }
}
