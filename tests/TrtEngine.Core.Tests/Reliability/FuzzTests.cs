using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TrtEngine.CacheWorker;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Weights;
using Xunit.Abstractions;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// Mutated ONNX models, safetensors files and engine plans: each is read or refused with the module's typed error,
/// never crashes or hangs, and allocates no more than its own size justifies.
/// </summary>
public sealed class FuzzTests(ReliabilityModels models, ITestOutputHelper output) : IClassFixture<ReliabilityModels>, IDisposable
{
    private const int PlanHeaderLength = 8 + 4 + 4 + 8 + 32; // magic, version, flags, body length, SHA-256 of the body
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Trials => Soak.Trials(1000, 10_000);

    [Fact]
    public void Mutated_onnx_models_are_imported_or_refused_with_typed_errors()
    {
        byte[][] seeds = models.Paths.Select(File.ReadAllBytes).ToArray();
        var random = new Random(7001);
        var runner = new FuzzRunner("onnx", _ => Mutator.Mutate(seeds[random.Next(seeds.Length)], random),
            bytes =>
            {
                OnnxImporter.Import(OnnxModel.Parse(bytes, _dir.Path), "fuzz");
                return null;
            },
            e => e is OnnxFormatException or ModelImportException or UnsupportedOperatorException or ShapeException, FuzzRunner.AllocationLimit);
        Finish(runner);
    }

    [Fact]
    public void Mutated_safetensors_files_are_read_or_refused_with_typed_errors()
    {
        var seeds = new List<byte[]> { File.ReadAllBytes(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt1.safetensors")) };
        foreach (string dtype in new[] { "F32", "F16", "BF16" })
        {
            string path = _dir.File($"seed-{dtype}.safetensors");
            SafetensorsWriter.Write(path, [("a.weight", [3, 4], ErrorMetrics.RandomValues(1, 12)), ("b", [5], ErrorMetrics.RandomValues(2, 5)), ("scalar", [], [1.5f])], dtype);
            seeds.Add(File.ReadAllBytes(path));
        }
        // Integer tensors beside float ones, as a torch state dict holds them.
        string mixed = _dir.File("seed-mixed.safetensors");
        SafetensorsWriter.Write(mixed, [("w", [2, 3], ErrorMetrics.RandomValues(3, 6), "F32"), ("bn.num_batches_tracked", [], [1200f], "I64"), ("ids", [4], [0f, 1f, 2f, 3f], "I32")]);
        seeds.Add(File.ReadAllBytes(mixed));
        var random = new Random(7002);
        FuzzWeightFile("safetensors", () =>
            {
                byte[] seed = seeds[random.Next(seeds.Count)];
                return random.Next(2) == 0 ? Mutator.Mutate(seed, random) : Mutator.HeaderNumbers(seed, random);
            },
            file => SafetensorsFile.Load(file));
    }

    /// <summary>Weight files made by <paramref name="mutant"/>, each written and read by <paramref name="load"/>: read, or refused with a WeightFormatException.</summary>
    private void FuzzWeightFile(string kind, Func<byte[]> mutant, Action<string> load)
    {
        string file = _dir.File("fuzz." + kind);
        var runner = new FuzzRunner(kind, _ => mutant(),
            bytes =>
            {
                File.WriteAllBytes(file, bytes);
                load(file);
                return null;
            },
            e => e is WeightFormatException, FuzzRunner.AllocationLimit);
        Finish(runner);
    }

    /// <summary>
    /// Torch checkpoints as torch 2.11 saves them (tests/fixtures/checkpoints: pickle protocols 2 to 5, a Lightning
    /// checkpoint, views, parameters, half precision, a TorchScript archive, a pickled module). A changed byte of
    /// tensor data reads as another value (torch's zip entries carry CRCs that neither torch nor this reader checks).
    /// </summary>
    [Fact]
    public void Mutated_torch_checkpoints_are_read_or_refused_with_typed_errors()
    {
        byte[][] seeds = Directory.GetFiles(TestPaths.TorchCheckpoints).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)).Order().Select(File.ReadAllBytes).ToArray();
        var random = new Random(7004);
        FuzzWeightFile("torch", () =>
            {
                byte[] seed = seeds[random.Next(seeds.Length)];
                // A third changed anywhere (mostly tensor data), a third in the zip's central directory at the end, a third
                // in the pickle of an archive that is otherwise whole: where a reader can go wrong.
                return random.Next(3) switch
                {
                    0 => Mutator.Mutate(seed, random),
                    1 => Mutator.Mutate(seed, random, Math.Max(0, seed.Length - 1500)),
                    _ => WithMutatedPickle(seed, random),
                };
            },
            file => TorchCheckpoint.Load(file));
    }

    /// <summary>A copy of a torch checkpoint whose data.pkl is mutated, its entries stored again as torch stores them.</summary>
    private static byte[] WithMutatedPickle(byte[] checkpoint, Random random)
    {
        if (checkpoint[0] != (byte)'P') return Mutator.Mutate(checkpoint, random); // the legacy format is no zip archive
        using var output = new MemoryStream();
        using (var source = new System.IO.Compression.ZipArchive(new MemoryStream(checkpoint), System.IO.Compression.ZipArchiveMode.Read))
        using (var copy = new System.IO.Compression.ZipArchive(output, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            foreach (var entry in source.Entries)
            {
                using var read = new MemoryStream();
                using (var stream = entry.Open()) stream.CopyTo(read);
                byte[] bytes = entry.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) ? Mutator.Mutate(read.ToArray(), random) : read.ToArray();
                using var write = copy.CreateEntry(entry.FullName, System.IO.Compression.CompressionLevel.NoCompression).Open();
                write.Write(bytes);
            }
        return output.ToArray();
    }

    [Fact]
    public void Mutated_engine_plans_are_loaded_or_refused_with_typed_errors_and_loaded_ones_run_safely()
    {
        var seeds = new List<byte[]>();
        string channelsLast = ChannelsLastCnn();
        foreach (string path in models.Paths.Append(channelsLast))
        {
            var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
            if (path == channelsLast)
            {
                Assert.Contains(engine.Native.Plan.Layers, l => l is Native.Layers.ConcatLayer { Normalizes: true });
                Assert.Contains(engine.Native.Plan.Layers, l => l is Native.Layers.ConvLayer { Groups: 2 } conv && Native.Kernels.GemmKernels.Tactics[conv.TacticId].Narrow);
                // A CPU without the band kernels unfolds the stem's windows from a reformatted input.
                if (Native.Kernels.GemmMicroKernels.ReadsWindows(false, 16))
                    Assert.Contains(engine.Native.Plan.Layers, l => l is Native.Layers.ConvLayer { PlanarInput: true });
                Assert.Contains(engine.Native.Plan.Layers, l => l is Native.Layers.ConvLayer { Algorithm: Native.Layers.ConvAlgorithm.GroupedDirect });
            }
            foreach (bool weights in new[] { true, false })
            {
                using var stream = new MemoryStream();
                engine.Export(stream, weights);
                seeds.Add(stream.ToArray());
            }
        }
        var random = new Random(7003);
        int ran = 0, refusedInput = 0, large = 0;
        var runner = new FuzzRunner("plan", _ =>
            {
                byte[] seed = seeds[random.Next(seeds.Count)];
                // Most mutants get a valid header and checksum again, so the body parser (not only the checksum) is exercised.
                return random.Next(8) == 0 ? Mutator.Mutate(seed, random) : Reseal(Mutator.Mutate(seed, random, PlanHeaderLength));
            },
            bytes =>
            {
                var engine = Engines.TrtEngine.Import(bytes);
                if (!engine.HasWeights || !engine.Inputs.All(i => (i.OptShape ?? i.Shape).Aggregate(1L, (a, d) => a * Math.Max(d, 1)) <= 1 << 16))
                    return null;
                if (LargestTensor(engine.Native.Plan, WorkerIO.Inputs(engine).Shapes) is > 1 << 22 and <= int.MaxValue)
                {
                    large++;
                    return null;
                }
                // A plan that loads must also run (or refuse its input) without touching memory outside its buffers.
                return () =>
                {
                    try
                    {
                        WorkerIO.OutputDigest(engine);
                        ran++;
                    }
                    catch (Exception e) when (e is EngineInputException or ShapeException)
                    {
                        refusedInput++;
                    }
                };
            },
            e => e is PlanFormatException, FuzzRunner.AllocationLimit);
        Finish(runner, () => $"; of the loaded mutants with weights, {ran} ran, {refusedInput} refused the input and {large} were not run (a tensor of over 4 Mi floats)");
    }

    [Fact]
    public void A_parse_that_hangs_is_saved_as_the_bytes_that_hung()
    {
        // The generator draws from a shared Random, as the fuzz tests' do: drawing input i again would give other bytes.
        var random = new Random(11);
        var runner = new FuzzRunner("hang-check", _ => [(byte)random.Next(256)], bytes =>
            {
                if (bytes[0] == 77) Thread.Sleep(2000);
                return null;
            }, _ => false, _ => long.MaxValue, TimeSpan.FromMilliseconds(500));
        var error = Assert.Throws<Xunit.Sdk.XunitException>(() => runner.Run(100_000));
        int input = int.Parse(System.Text.RegularExpressions.Regex.Match(error.Message, @"input (\d+)").Groups[1].Value);
        string saved = Path.Combine(TestPaths.RepositoryRoot, "out", "reliability", $"fuzz-hang-check-{input}.bin");
        try
        {
            Assert.Equal([77], File.ReadAllBytes(saved));
        }
        finally
        {
            File.Delete(saved);
        }
    }

    /// <summary>
    /// A plan seed with the channels-last kernels' own parameters: a 3-channel stem (windows read from a band of the
    /// input's planes), a convolution in groups of 8 (the 8-wide tactic), one in groups of 4 (computed directly) and a
    /// concat that applies the BatchNormalization after it.
    /// </summary>
    private string ChannelsLastCnn()
    {
        var m = new OnnxModelBuilder();
        m.AddInput("image", OnnxDataType.Float, 1, 3, 12, 12);
        m.AddInitializer("stem.weight", ErrorMetrics.RandomValues(41, 16 * 3 * 9), [16, 3, 3, 3]);
        m.AddInitializer("group.weight", ErrorMetrics.RandomValues(42, 16 * 8 * 9), [16, 8, 3, 3]);
        m.AddInitializer("small.weight", ErrorMetrics.RandomValues(48, 16 * 4 * 9), [16, 4, 3, 3]);
        foreach (var (name, seed) in new[] { ("bn.scale", 43), ("bn.bias", 44), ("bn.mean", 45) })
            m.AddInitializer(name, ErrorMetrics.RandomValues(seed, 32), [32]);
        m.AddInitializer("bn.var", ErrorMetrics.RandomValues(46, 32).Select(v => v * v + 0.5f).ToArray(), [32]);
        m.AddInitializer("head.weight", ErrorMetrics.RandomValues(47, 4 * 32), [4, 32, 1, 1]);
        m.AddNode("Conv", ["image", "stem.weight"], ["s"], ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { 2, 2 }));
        m.AddNode("Conv", ["s", "group.weight"], ["g"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 2L));
        m.AddNode("Conv", ["g", "small.weight"], ["q"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 4L));
        m.AddNode("Concat", ["s", "q"], ["joined"], ("axis", 1L));
        m.AddNode("BatchNormalization", ["joined", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["n"]);
        m.AddNode("Relu", ["n"], ["r"]);
        m.AddNode("Conv", ["r", "head.weight"], ["features"]);
        m.AddOutput("features", OnnxDataType.Float);
        string path = _dir.File("channels_last_cnn.onnx");
        m.Save(path);
        return path;
    }

    /// <summary>
    /// Floats of the largest tensor the plan computes from inputs of these shapes (0 where a shape does not infer: the run
    /// must then refuse the input). A mutated pad or stride can make a valid plan of a network whose activations are
    /// gigabytes (a 3×3 convolution padded by 2 Mi columns: 671 MB out, 2.3 GB of unfolded input, 5 s): it runs as such
    /// a network would, which the fuzz does not wait for. Past one buffer (2^31 floats) the run refuses the input, cheaply.
    /// </summary>
    private static long LargestTensor(EnginePlan plan, Dictionary<string, int[]> inputShapes)
    {
        var shapes = new int[plan.Tensors.Length][];
        try
        {
            plan.InferShapes(shapes, Enumerable.Range(0, plan.Inputs.Length).Select(i => inputShapes[plan.InputName(i)]).ToArray());
        }
        catch (ShapeException)
        {
            return 0;
        }
        return plan.Layers.Max(l => shapes[l.Output].Aggregate(1L, (a, d) => a * Math.Max(d, 1)));
    }

    [Fact]
    public void Claims_of_huge_tensors_are_refused_before_allocating()
    {
        var engine = EngineConverter.Convert(models.Paths[0], new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        using var stream = new MemoryStream();
        engine.Export(stream, includeWeights: true);
        byte[] plan = stream.ToArray();

        byte[] hugeBody = (byte[])plan.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(hugeBody.AsSpan(16), 100L << 30); // the header announces a 100 GiB body
        AssertRefusedCheaply<PlanFormatException>(() => Engines.TrtEngine.Import(hugeBody));

        // The last weight buffer's count claims 2^31-1 floats (8 GiB); the checksum is made right so the parser meets it.
        long lastWeight = engine.Native.Plan.Weights[^1].Length;
        byte[] hugeWeight = (byte[])plan.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(hugeWeight.AsSpan((int)(hugeWeight.Length - 4 * lastWeight - 4)), int.MaxValue);
        AssertRefusedCheaply<PlanFormatException>(() => Engines.TrtEngine.Import(Reseal(hugeWeight)));

        string tensors = _dir.File("huge.safetensors");
        byte[] header = Encoding.UTF8.GetBytes("""{"w":{"dtype":"F32","shape":[100000,100000,3],"data_offsets":[0,120000000000]}}""");
        File.WriteAllBytes(tensors, [.. BitConverter.GetBytes((long)header.Length), .. header, .. new byte[16]]);
        AssertRefusedCheaply<WeightFormatException>(() => SafetensorsFile.Load(tensors));

        var model = new Testing.Onnx.OnnxModelBuilder();
        model.AddInput("x", OnnxDataType.Float, 3);
        model.AddInitializer("w", new float[3], [100_000, 100_000, 3]); // dims claim 3·10^10 floats, the data holds 3
        model.AddOutput("y", OnnxDataType.Float);
        model.AddNode("Add", ["x", "w"], ["y"]);
        AssertRefusedCheaply<OnnxFormatException>(() => OnnxModel.Parse(model.ToBytes(), null));
    }

    [Fact]
    public void Activations_larger_than_one_buffer_are_refused_with_a_shape_error()
    {
        // Found by fuzzing plans: a layer whose output grew past 2^31 floats failed with an OverflowException.
        string Resize(string name, object batch, float scale)
        {
            var model = new Testing.Onnx.OnnxModelBuilder();
            model.AddInput("x", OnnxDataType.Float, batch, 1, 64, 64);
            model.AddInitializer("roi", Testing.Onnx.TensorValue.Float([], 0));
            model.AddInitializer("scales", [1f, 1f, scale, scale], [4]);
            model.AddOutput("y", OnnxDataType.Float);
            model.AddNode("Resize", ["x", "roi", "scales"], ["y"], ("mode", "nearest"));
            string path = _dir.File(name);
            model.Save(path);
            return path;
        }
        // Too large where the build times it (its opt shape): refused by the build, before any buffer is made for it
        // (found by a QA helper, session 50: an opt batch of 20 million rows took 5–17 GB first).
        var built = Assert.Throws<ShapeException>(() => EngineConverter.Convert(Resize("huge_resize.onnx", 1, 1024f), new ConversionSettings { UseCache = false, OptimizationLevel = 0 }));
        Assert.Contains("Tensor 'y' at the opt shape [1, 1, 65536, 65536], which the build times, would hold 4,294,967,296 values", built.Message);
        // Too large only at a batch the run is given: refused by that run.
        var engine = EngineConverter.Convert(Resize("batched_resize.onnx", "batch", 32f), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        Assert.Equal(4 * 2048 * 2048, engine.Run(new Dictionary<string, float[]> { ["x"] = new float[4 * 64 * 64] })[0].Data.Length);
        var error = Assert.Throws<ShapeException>(() => engine.Run(new Dictionary<string, float[]> { ["x"] = new float[600 * 64 * 64] }));
        Assert.Contains("more than one buffer can hold", error.Message);
    }

    [Fact]
    public void A_plan_claiming_thousands_of_threads_starts_no_more_workers_than_processors()
    {
        var engine = EngineConverter.Convert(models.Paths[1], new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        using var stream = new MemoryStream();
        engine.Export(stream, includeWeights: true);
        byte[] plan = stream.ToArray();
        // The body starts with the plan's name and instruction set (length-prefixed strings), then the thread count.
        int at = PlanHeaderLength;
        for (int s = 0; s < 2; s++) at += 4 + BinaryPrimitives.ReadInt32LittleEndian(plan.AsSpan(at));
        BinaryPrimitives.WriteInt32LittleEndian(plan.AsSpan(at), 4000);
        int before = System.Diagnostics.Process.GetCurrentProcess().Threads.Count;
        var loaded = Engines.TrtEngine.Import(Reseal(plan));
        int started = System.Diagnostics.Process.GetCurrentProcess().Threads.Count - before;
        Assert.Equal(WorkerIO.OutputDigest(engine), WorkerIO.OutputDigest(loaded));
        Assert.True(started <= Environment.ProcessorCount, $"loading the plan started {started} threads");
    }

    private static void AssertRefusedCheaply<T>(Action parse) where T : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<T>(parse);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1 << 20, $"refusing the claim allocated {allocated} bytes");
    }

    private void Finish(FuzzRunner runner, Func<string>? extra = null)
    {
        runner.Run(Trials);
        Soak.Report(output, "fuzz-" + runner.Summary(Trials).Split(':')[0], runner.Summary(Trials) + extra?.Invoke());
        Assert.True(runner.Failures.Count == 0, string.Join("\n", runner.Failures));
        Assert.True(runner.Refused > 0 && runner.Accepted + runner.Refused == Trials);
    }

    /// <summary>Makes the plan's header agree with its (mutated) body again: body length and SHA-256.</summary>
    private static byte[] Reseal(byte[] plan)
    {
        if (plan.Length < PlanHeaderLength) return plan;
        BinaryPrimitives.WriteInt64LittleEndian(plan.AsSpan(16), plan.Length - PlanHeaderLength);
        SHA256.HashData(plan.AsSpan(PlanHeaderLength), plan.AsSpan(24, 32));
        return plan;
    }
}
