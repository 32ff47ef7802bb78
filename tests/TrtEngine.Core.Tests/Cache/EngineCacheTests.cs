using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>The one conversion path with the disk store: keys, hits with refit, stripped entries, bad entries.</summary>
public sealed class EngineCacheTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static string TinyMlp => Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");

    private ConversionSettings Settings(int level = 0) => new() { CacheDirectory = _dir.File("cache"), OptimizationLevel = level };

    public void Dispose() => _dir.Dispose();

    private static float[] Run(Engines.TrtEngine engine) =>
        engine.Run(new Dictionary<string, float[]> { ["input"] = ErrorMetrics.RandomValues(5, 2 * 64) })[0].Data;

    [Fact]
    public void Miss_then_hit_stores_a_stripped_entry_and_the_hit_is_refitted()
    {
        var built = EngineConverter.Convert(TinyMlp, Settings());
        Assert.False(built.FromCache);
        var entry = Assert.Single(new DiskEngineStore(_dir.File("cache")).List());
        Assert.Equal(built.CacheKey, entry.Key);
        Assert.True(entry.SizeBytes * 10 < built.WeightBytes, $"entry {entry.SizeBytes} bytes vs weights {built.WeightBytes}");

        var hit = EngineConverter.Convert(TinyMlp, Settings());
        Assert.True(hit.FromCache);
        Assert.True(hit.HasWeights);
        Assert.Equal(Run(built), Run(hit));
        Assert.Equal(1, Assert.Single(new DiskEngineStore(_dir.File("cache")).List()).HitCount);
    }

    /// <summary>
    /// Every configuration built is a key, and each key once left a lock file for ever (a loop over batch sizes piled up
    /// hundreds): keys share the lock of their first two hex digits, so the files stay at most 256 and the store's.
    /// </summary>
    [Fact]
    public void Build_locks_are_shared_by_key_prefix_so_their_files_stay_few()
    {
        var keys = Enumerable.Range(1, 12).Select(batch => EngineConverter.Convert(TinyMlp, Settings() with
        {
            OptShapes = new Dictionary<string, int[]> { ["input"] = [batch, 64] },
            MaxShapes = new Dictionary<string, int[]> { ["input"] = [16, 64] },
        }).CacheKey!).ToList();
        Assert.Equal(12, keys.Distinct().Count());
        var files = Directory.GetFiles(Path.Combine(_dir.File("cache"), ".locks")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(keys.Select(k => $"build-{k[..2]}.lock").Append("store.lock").Distinct().Order(), files);
    }

    [Fact]
    public void Strip_weights_returns_an_engine_that_refuses_to_run()
    {
        var engine = EngineConverter.Convert(TinyMlp, Settings() with { });
        var stripped = EngineConverter.Convert(TinyMlp, new ConversionSettings { CacheDirectory = _dir.File("cache"), OptimizationLevel = 0, StripWeights = true });
        Assert.False(stripped.HasWeights);
        Assert.Throws<Native.Runtime.EngineHasNoWeightsException>(() => Run(stripped));
        stripped.Refit(Refit.WeightSources.FromFile(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt1.safetensors")));
        engine.Refit(Refit.WeightSources.FromFile(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt1.safetensors")));
        Assert.Equal(Run(engine), Run(stripped));
    }

    [Fact]
    public void A_weightless_model_with_its_weights_file_shares_the_key_of_the_model_with_initializers()
    {
        string plain = _dir.File("plain.onnx"), weightless = _dir.File("weightless.onnx"), weights = _dir.File("w.safetensors");
        float[] w = ErrorMetrics.RandomValues(1, 8 * 4), b = ErrorMetrics.RandomValues(2, 4);
        foreach (bool asInputs in new[] { false, true })
        {
            var m = new OnnxModelBuilder();
            m.AddInput("x", OnnxDataType.Float, "batch", 8);
            if (asInputs)
            {
                m.AddInput("fc.weight", OnnxDataType.Float, 4, 8);
                m.AddInput("fc.bias", OnnxDataType.Float, 4);
            }
            else
            {
                m.AddInitializer("fc.weight", w, [4, 8]);
                m.AddInitializer("fc.bias", b, [4]);
            }
            m.AddOutput("y", OnnxDataType.Float);
            m.AddNode("Gemm", ["x", "fc.weight", "fc.bias"], ["y"], ("transB", 1L));
            m.Save(asInputs ? weightless : plain);
        }
        Testing.Weights.SafetensorsWriter.Write(weights, [("fc.weight", [4, 8], w), ("fc.bias", [4], b)]);
        var first = EngineConverter.Convert(plain, Settings());
        var second = EngineConverter.Convert(weightless, Settings() with { WeightsPath = weights });
        Assert.Equal(first.CacheKey, second.CacheKey);
        Assert.True(second.FromCache);
        Assert.Equal(("plain", "weightless"), (first.Name, second.Name)); // each named after its model, not the entry's
    }

    [Fact]
    public void A_re_export_with_other_node_and_tensor_names_and_a_renamed_input_shares_the_key_and_keeps_its_names()
    {
        string Save(string input, string output, string prefix)
        {
            var m = new OnnxModelBuilder();
            m.AddInput(input, OnnxDataType.Float, "batch", 8);
            m.AddInitializer("fc.weight", ErrorMetrics.RandomValues(1, 32), [4, 8]);
            m.AddOutput(output, OnnxDataType.Float);
            m.AddNode("Gemm", [input, "fc.weight"], [prefix + "/h"], ("transB", 1L)).Name = prefix + "/Gemm";
            m.AddNode("Relu", [prefix + "/h"], [output]).Name = prefix + "/Relu";
            string path = _dir.File(prefix + ".onnx");
            m.Save(path);
            return path;
        }
        var first = EngineConverter.Convert(Save("input", "logits", "a"), Settings());
        var second = EngineConverter.Convert(Save("x", "y", "b"), Settings());
        Assert.Equal(first.CacheKey, second.CacheKey);
        Assert.True(second.FromCache);
        Assert.Equal(("b", "x", "y"), (second.Name, Assert.Single(second.Inputs).Name, Assert.Single(second.Outputs).Name));
        var x = ErrorMetrics.RandomValues(3, 16);
        Assert.Equal(first.Run(new Dictionary<string, float[]> { ["input"] = x })[0].Data, second.Run(new Dictionary<string, float[]> { ["x"] = x })[0].Data);
    }

    [Fact]
    public void Keys_change_with_shapes_settings_and_attributes_but_not_with_weight_values()
    {
        string Key(long transB, float alpha, int level, int[]? shape = null, int seed = 1)
        {
            var m = new OnnxModelBuilder();
            m.AddInput("x", OnnxDataType.Float, "batch", 8);
            m.AddInitializer("w", ErrorMetrics.RandomValues(seed, 64), [8, 8]);
            m.AddOutput("y", OnnxDataType.Float);
            m.AddNode("Gemm", ["x", "w"], ["y"], ("transB", transB), ("alpha", alpha));
            string path = _dir.File($"k{Guid.NewGuid():N}.onnx");
            m.Save(path);
            var settings = Settings(level) with { InputShapes = shape is null ? null : new Dictionary<string, int[]> { ["x"] = shape } };
            return EngineConverter.Convert(path, settings).CacheKey!;
        }
        string baseline = Key(0, 1f, 0);
        Assert.Equal(baseline, Key(0, 1f, 0, seed: 2));
        Assert.NotEqual(baseline, Key(1, 1f, 0));
        Assert.NotEqual(baseline, Key(0, 2f, 0));
        Assert.NotEqual(baseline, Key(0, 1f, 1));
        Assert.NotEqual(baseline, Key(0, 1f, 0, [4, 8]));
    }

    [Fact]
    public void An_entry_whose_plan_was_built_for_other_profiles_is_a_miss_even_when_its_manifest_agrees()
    {
        // A fixed-shape entry's plan copied under the dynamic key, its manifest signed again (a careless copy tool, or
        // tampering): the checksums hold, but the plan cannot serve the key's profiles.
        using var fixedShape = EngineConverter.Convert(TinyMlp, Settings() with { InputShapes = new Dictionary<string, int[]> { ["input"] = [4, 64] } });
        using var dynamic = EngineConverter.Convert(TinyMlp, Settings());
        string entry = Path.Combine(_dir.File("cache"), dynamic.CacheKey!);
        byte[] plan = File.ReadAllBytes(Path.Combine(_dir.File("cache"), fixedShape.CacheKey!, "plan.trtp"));
        File.WriteAllBytes(Path.Combine(entry, "plan.trtp"), plan);
        var manifest = System.Text.Json.JsonSerializer.Deserialize<CacheManifest>(File.ReadAllBytes(Path.Combine(entry, "manifest.json")), CacheManifest.Json)!;
        manifest.PlanBytes = plan.Length;
        manifest.PlanSha256 = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(plan));
        manifest.Checksum = manifest.ComputeChecksum();
        File.WriteAllBytes(Path.Combine(entry, "manifest.json"), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest, CacheManifest.Json));

        var events = new RecordingEvents();
        using var rebuilt = EngineConverter.Convert(TinyMlp, Settings(), events);
        Assert.False(rebuilt.FromCache);
        Assert.Contains(events.Messages, m => m.StartsWith("Cache miss: the entry's plan is unusable (its input profiles", StringComparison.Ordinal));
        Assert.Single(rebuilt.Run(new Dictionary<string, float[]> { ["input"] = ErrorMetrics.RandomValues(5, 64) }));
    }

    [Fact]
    public void A_valid_reordering_of_the_nodes_shares_the_key()
    {
        // Two branches and a Constant node, written in two topological orders: one model, one key, one entry.
        string Model(bool reordered)
        {
            var m = new OnnxModelBuilder();
            m.AddInput("x", OnnxDataType.Float, "batch", 8);
            m.AddInitializer("w", ErrorMetrics.RandomValues(1, 64), [8, 8]);
            (string Op, string[] Inputs, string Output)[] nodes =
            [
                ("Relu", ["x"], "a"),
                ("Gemm", ["x", "w"], "b"),
                ("Sub", ["a", "b"], "d"),
            ];
            if (reordered)
            {
                m.AddNode("Constant", [], ["c"], ("value", TensorValue.Scalar(0.5f)));
                nodes = [nodes[1], nodes[0], nodes[2]];
            }
            foreach (var (op, inputs, output) in nodes) m.AddNode(op, inputs, [output]);
            if (!reordered) m.AddNode("Constant", [], ["c"], ("value", TensorValue.Scalar(0.5f)));
            m.AddNode("Mul", ["d", "c"], ["y"]);
            m.AddOutput("y", OnnxDataType.Float);
            string path = _dir.File($"order{reordered}.onnx");
            m.Save(path);
            return path;
        }
        using var first = EngineConverter.Convert(Model(false), Settings());
        using var second = EngineConverter.Convert(Model(true), Settings());
        Assert.Equal(first.CacheKey, second.CacheKey);
        Assert.True(second.FromCache);
        var x = new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(3, 2 * 8) };
        Assert.Equal(first.Run(x)[0].Data, second.Run(x)[0].Data);
    }

    [Fact]
    public void A_constant_node_s_value_is_structure_and_changes_the_key()
    {
        // GELU as torch exports it: the builder folds its constants into a fused kernel, and a stripped entry keeps
        // them, so a model whose 0.5 is 0.25 must not hit the entry (a -StripWeights hit would not even be refitted).
        string Gelu(float half, int seed)
        {
            var m = new OnnxModelBuilder();
            m.AddInput("x", OnnxDataType.Float, "batch", 16);
            m.AddInitializer("w", ErrorMetrics.RandomValues(seed, 16 * 8), [16, 8]);
            m.AddNode("MatMul", ["x", "w"], ["h"]);
            m.AddNode("Constant", [], ["c1"], ("value", TensorValue.Scalar(MathF.Sqrt(2f))));
            m.AddNode("Constant", [], ["c2"], ("value", TensorValue.Scalar(1f)));
            m.AddNode("Constant", [], ["c3"], ("value", TensorValue.Scalar(half)));
            m.AddNode("Div", ["h", "c1"], ["d"]);
            m.AddNode("Erf", ["d"], ["e"]);
            m.AddNode("Add", ["e", "c2"], ["a"]);
            m.AddNode("Mul", ["h", "a"], ["g"]);
            m.AddNode("Mul", ["g", "c3"], ["y"]);
            m.AddOutput("y", OnnxDataType.Float);
            string path = _dir.File($"gelu{Guid.NewGuid():N}.onnx");
            m.Save(path);
            return path;
        }
        string half = Gelu(0.5f, 1), quarter = Gelu(0.25f, 1);
        using var built = EngineConverter.Convert(half, Settings(level: 2));
        Assert.Equal(built.CacheKey, EngineConverter.Convert(Gelu(0.5f, 2), Settings(level: 2)).CacheKey); // weights alone: one key
        using var stripped = EngineConverter.Convert(quarter, Settings(level: 2) with { StripWeights = true });
        Assert.NotEqual(built.CacheKey, stripped.CacheKey);
        Assert.False(stripped.FromCache);

        using var plain = EngineConverter.Convert(quarter, new ConversionSettings { UseCache = false, OptimizationLevel = 2 });
        stripped.Refit(Refit.WeightSources.FromFile(quarter));
        var x = new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(3, 2 * 16) };
        Assert.Equal(plain.Run(x)[0].Data, stripped.Run(x)[0].Data);
    }

    [Fact]
    public void Keys_change_with_profiles_threads_wiring_and_weight_shapes_alone()
    {
        // y = a − b of a = Relu(x), b = Sigmoid(x), plus a weight w; swapped rewires the Sub alone.
        string Model(bool swapped = false, int[]? w = null)
        {
            var m = new OnnxModelBuilder();
            m.AddInput("x", OnnxDataType.Float, "batch", 8);
            w ??= [8];
            m.AddInitializer("w", ErrorMetrics.RandomValues(1, 8), w.Select(d => (long)d).ToArray());
            m.AddNode("Relu", ["x"], ["a"]);
            m.AddNode("Sigmoid", ["x"], ["b"]);
            m.AddNode("Sub", swapped ? ["b", "a"] : ["a", "b"], ["d"]);
            m.AddNode("Add", ["d", "w"], ["y"]);
            m.AddOutput("y", OnnxDataType.Float);
            string path = _dir.File($"k{Guid.NewGuid():N}.onnx");
            m.Save(path);
            return path;
        }
        Dictionary<string, int[]> Shape(int batch) => new() { ["x"] = [batch, 8] };
        string Key(string path, ConversionSettings? settings = null) => EngineConverter.Convert(path, settings ?? Settings()).CacheKey!;

        string plain = Model(), baseline = Key(plain);
        Assert.Equal(baseline, Key(Model()));
        Assert.NotEqual(baseline, Key(Model(swapped: true)));
        // The same output shapes from a weight broadcast another way.
        Assert.NotEqual(baseline, Key(Model(w: [1, 8])));
        Assert.NotEqual(baseline, Key(plain, Settings() with { Threads = Environment.ProcessorCount == 1 ? 2 : 1 }));
        string profiled = Key(plain, Settings() with { MinShapes = Shape(1), OptShapes = Shape(4), MaxShapes = Shape(16) });
        Assert.NotEqual(baseline, profiled);
        Assert.NotEqual(profiled, Key(plain, Settings() with { MinShapes = Shape(1), OptShapes = Shape(8), MaxShapes = Shape(16) }));
        Assert.NotEqual(profiled, Key(plain, Settings() with { MinShapes = Shape(1), OptShapes = Shape(4), MaxShapes = Shape(32) }));
        Assert.NotEqual(profiled, Key(plain, Settings() with { MinShapes = Shape(2), OptShapes = Shape(4), MaxShapes = Shape(16) }));
        Assert.Equal(profiled, Key(plain, Settings() with { MinShapes = Shape(1), OptShapes = Shape(4), MaxShapes = Shape(16) }));
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("flip")]
    [InlineData("manifest")]
    [InlineData("empty")]
    public void A_damaged_entry_is_a_miss_that_is_rebuilt_with_the_right_outputs(string damage)
    {
        var built = EngineConverter.Convert(TinyMlp, Settings());
        string dir = Path.Combine(_dir.File("cache"), built.CacheKey!);
        string plan = Path.Combine(dir, "plan.trtp");
        byte[] bytes = File.ReadAllBytes(plan);
        switch (damage)
        {
            case "truncate": File.WriteAllBytes(plan, bytes[..(bytes.Length / 2)]); break;
            case "flip": bytes[bytes.Length / 2] ^= 0x10; File.WriteAllBytes(plan, bytes); break;
            case "manifest": File.WriteAllText(Path.Combine(dir, "manifest.json"), "{ not json"); break;
            default: File.WriteAllBytes(plan, []); break;
        }
        var events = new RecordingEvents();
        var again = EngineConverter.Convert(TinyMlp, Settings(), events);
        Assert.False(again.FromCache);
        Assert.Contains(events.Messages, m => m.Contains("Cache miss") && (m.Contains("corrupt") || m.Contains("unreadable")));
        Assert.Equal(Run(built), Run(again));
        Assert.True(EngineConverter.Convert(TinyMlp, Settings()).FromCache);
    }

    [Fact]
    public void The_size_limit_evicts_the_least_recently_used_entry()
    {
        var store = new DiskEngineStore(_dir.File("lru"), sizeLimit: 12_000);
        byte[] plan = new byte[3000];
        foreach (string k in new[] { "a", "b", "c" })
        {
            store.Save(new string(k[0], CacheKey.Length), plan, new CacheManifest { ModelName = k, PlanFormat = Native.Plan.EnginePlan.FormatVersion });
            Thread.Sleep(20);
        }
        store.RecordHit(new string('a', CacheKey.Length)); // a is now more recent than b
        Thread.Sleep(20);
        store.Save(new string('d', CacheKey.Length), plan, new CacheManifest { ModelName = "d", PlanFormat = Native.Plan.EnginePlan.FormatVersion });
        var names = store.List().Select(e => e.ModelName).Order().ToArray();
        Assert.DoesNotContain("b", names);
        Assert.Contains("a", names);
        Assert.Contains("d", names);
        Assert.True(store.List().Sum(e => e.SizeBytes) <= 12_000);
    }

    [Fact]
    public void A_rebuild_takes_its_tactics_from_the_timing_cache()
    {
        // Eight rows: a GEMM of one row keeps its weight's rows without timing.
        var settings = Settings(level: 2) with { InputShapes = new Dictionary<string, int[]> { ["input"] = [8, 64] } };
        var first = new RecordingEvents();
        EngineConverter.Convert(TinyMlp, settings, first);
        Assert.True(File.Exists(Path.Combine(_dir.File("cache"), "timing.cache")));
        Assert.Contains(first.Messages, m => m.StartsWith("Saved 3 new tactic timings", StringComparison.Ordinal));

        var again = new RecordingEvents();
        EngineConverter.Convert(TinyMlp, settings with { Force = true }, again);
        Assert.Equal(3, again.Messages.Count(m => m.Contains("(timing cache)")));
        Assert.DoesNotContain(again.Messages, m => m.StartsWith("Saved", StringComparison.Ordinal));
    }

    [Fact]
    public void Repeated_layers_of_one_build_are_timed_once_without_a_timing_cache()
    {
        // Three Gemm + Relu blocks of one signature: the first is timed, the other two take its tactic.
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 8, 64);
        string h = "x";
        for (int i = 0; i < 3; i++)
        {
            m.AddInitializer($"w{i}", ErrorMetrics.RandomValues(i, 64 * 64), [64, 64]);
            m.AddNode("Gemm", [h, $"w{i}"], [$"g{i}"], ("transB", 1L));
            m.AddNode("Relu", [$"g{i}"], [h = $"r{i}"]);
        }
        m.AddOutput(h, OnnxDataType.Float);
        string path = _dir.File("blocks.onnx");
        m.Save(path);
        var events = new RecordingEvents();
        using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 2 }, events);
        var layers = events.Messages.Where(message => message.StartsWith("Layer '", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, layers.Count);
        Assert.Equal(2, layers.Count(message => message.EndsWith("(timing cache).", StringComparison.Ordinal)));
        Assert.Single(engine.Native.Plan.Layers.Select(l => l.Tactic).Distinct());
    }

    [Fact]
    public void Keys_that_are_not_keys_never_reach_the_file_system()
    {
        var store = new DiskEngineStore(_dir.File("cache"));
        Assert.Throws<ArgumentException>(() => store.Remove("../../etc"));
        Assert.Throws<ArgumentException>(() => store.TryLoad("..").IsHit);
    }
}
