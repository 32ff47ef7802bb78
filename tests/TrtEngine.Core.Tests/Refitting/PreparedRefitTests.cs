using System.Runtime.InteropServices;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Tests.Reliability;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Weights;
using Xunit.Abstractions;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// A weights file read for an engine runs the engine's recipes while it is read; the refit takes those results only
/// for the very arrays they came from, and the engine ends exactly as a refit that computed everything itself.
/// </summary>
public sealed class PreparedRefitTests(ITestOutputHelper output) : IDisposable
{
    private static readonly float[] Input = ErrorMetrics.RandomValues(4, 32 * 6 * 6);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Conv + BatchNormalization (folded), Relu, a second Conv, GlobalAveragePool and a transposed Gemm: about 1.2 MB of
    /// derived engine weights (the Gemm's one-row weight is taken as it is), enough for a file read to prepare them.
    /// </summary>
    private static IEnumerable<(string Name, int[] Shape, float[] Data)> Weights(int seed) =>
    [
        ("w1", [64, 32, 3, 3], ErrorMetrics.RandomValues(seed, 64 * 32 * 9)),
        ("gamma", [64], ErrorMetrics.RandomValues(seed + 1, 64)),
        ("beta", [64], ErrorMetrics.RandomValues(seed + 2, 64)),
        ("mean", [64], ErrorMetrics.RandomValues(seed + 3, 64)),
        ("var", [64], ErrorMetrics.RandomValues(seed + 4, 64).Select(v => 1.5f + v).ToArray()),
        ("w2", [480, 64, 3, 3], ErrorMetrics.RandomValues(seed + 5, 480 * 64 * 9)),
        ("b2", [480], ErrorMetrics.RandomValues(seed + 6, 480)),
        ("wg", [1000, 480], ErrorMetrics.RandomValues(seed + 7, 1000 * 480)),
        ("bg", [1000], ErrorMetrics.RandomValues(seed + 8, 1000)),
    ];

    private string Model(int seed, TensorEncoding encoding = TensorEncoding.Raw)
    {
        var model = new OnnxModelBuilder();
        model.AddInput("x", OnnxDataType.Float, 1, 32, 6, 6);
        // Stored in the reverse of the order the graph uses them: the file's order is not the import's.
        foreach (var (name, shape, data) in Weights(seed).Reverse()) model.AddInitializer(name, data, shape.Select(d => (long)d).ToArray(), encoding);
        model.AddNode("Conv", ["x", "w1"], ["c1"], ("pads", new long[] { 1, 1, 1, 1 }));
        model.AddNode("BatchNormalization", ["c1", "gamma", "beta", "mean", "var"], ["n1"]);
        model.AddNode("Relu", ["n1"], ["r1"]);
        model.AddNode("Conv", ["r1", "w2", "b2"], ["c2"]);
        model.AddNode("GlobalAveragePool", ["c2"], ["g"]);
        model.AddNode("Flatten", ["g"], ["f"]);
        model.AddNode("Gemm", ["f", "wg", "bg"], ["y"], ("transB", 1L));
        model.AddOutput("y", OnnxDataType.Float);
        string path = _dir.File($"prepared_{seed}_{encoding}.onnx");
        model.Save(path);
        return path;
    }

    /// <summary>
    /// A 256-channel 3×3 convolution with a BatchNormalization folded into it (one packed recipe of three weights, in
    /// parts), a Relu and a 1×1 convolution to eight channels.
    /// </summary>
    private string FoldedModel(int seed)
    {
        var model = new OnnxModelBuilder();
        model.AddInput("x", OnnxDataType.Float, 1, 32, 6, 6);
        model.AddInitializer("w", ErrorMetrics.RandomValues(seed, 256 * 32 * 9), [256, 32, 3, 3]);
        foreach (var (parameter, offset) in new[] { ("gamma", 0f), ("beta", 0f), ("mean", 0f), ("var", 1.5f) })
            model.AddInitializer(parameter, ErrorMetrics.RandomValues(seed + parameter.Length, 256).Select(v => v + offset).ToArray(), [256]);
        model.AddInitializer("head", ErrorMetrics.RandomValues(seed + 7, 8 * 256), [8, 256, 1, 1]);
        model.AddNode("Conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }));
        model.AddNode("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"]);
        model.AddNode("Relu", ["n"], ["r"]);
        model.AddNode("Conv", ["r", "head"], ["y"]);
        model.AddOutput("y", OnnxDataType.Float);
        string path = _dir.File($"folded_{seed}.onnx");
        model.Save(path);
        return path;
    }

    private static Engines.TrtEngine Build(string path) =>
        EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = 2 });

    private static float[] Run(Engines.TrtEngine engine) => engine.Run(new Dictionary<string, float[]> { ["x"] = Input })[0].Data;

    private static float[][] EngineWeights(Engines.TrtEngine engine) => engine.Native.CurrentWeights!.Buffers.Select(b => b.ToArray()).ToArray();

    /// <summary>An FNV-1a digest of the engine weights' bits, taken without copying them (a fuzz loop counts what it allocates).</summary>
    private static ulong Digest(Engines.TrtEngine engine)
    {
        ulong hash = 14695981039346656037;
        foreach (var buffer in engine.Native.CurrentWeights!.Buffers)
            foreach (uint bits in MemoryMarshal.Cast<float, uint>(buffer))
                hash = (hash ^ bits) * 1099511628211;
        return hash;
    }

    /// <summary>Preparing needs a second thread; on one core a file read prepares nothing and these tests say so.</summary>
    private static bool CanPrepare => Environment.ProcessorCount > 1;

    /// <summary>A model's weights in arrays of their own, for a test to change.</summary>
    private static Dictionary<string, WeightValue> Writable(string path) =>
        WeightSources.FromFile(path).ToDictionary(e => e.Key, e => e.Value with { Data = (float[])e.Value.Data.Clone() });

    /// <summary>A preparation given every weight, as a read for the engine supplies them.</summary>
    private static RefitPreparation Prepared(Engines.TrtEngine engine, IReadOnlyDictionary<string, WeightValue> weights)
    {
        var preparation = new RefitPreparation(engine.Native);
        preparation.WhileReading(() => 1, _ =>
        {
            foreach (var (name, value) in weights) preparation.Supply(name, value.Data, 0, value.Data.Length);
        });
        return preparation;
    }

    [Fact]
    public void A_refit_from_a_file_read_for_the_engine_takes_every_prepared_recipe_and_is_exact()
    {
        string v1 = Model(10);
        using var engine = RefitsAsATwinWould(v1, [v1, Model(20)]);
        using var fresh = Build(v1);
        Assert.Equal(Run(fresh), Run(engine));
    }

    /// <summary>
    /// An engine built from <paramref name="model"/> refitted from each file in turn as read for it, six times, against
    /// a twin that computes everything itself: every recipe prepared, every result taken, and the same engine weights
    /// and outputs each time.
    /// </summary>
    private static Engines.TrtEngine RefitsAsATwinWould(string model, string[] files)
    {
        var engine = Build(model);
        using var twin = Build(model);
        Assert.True(engine.Native.DerivedWeightBytes >= WeightFile.PrepareFromBytes, $"{engine.Native.DerivedWeightBytes} derived bytes: too few for a read to prepare");
        int recipes = engine.Native.Plan.Weights.Count(w => w.Recipe.Kind != RecipeKind.Identity);
        for (int i = 1; i <= 6; i++)
        {
            string file = files[i % 2];
            twin.Refit(WeightSources.FromFile(file));
            using var weights = WeightFile.Read(file, engine);
            var preparation = engine.Native.Preparation;
            Assert.Equal(CanPrepare, preparation is not null);
            if (preparation is not null) Assert.Equal(recipes, preparation.Untaken);
            engine.Refit(weights.Values);
            Assert.Null(engine.Native.Preparation);
            if (preparation is not null) Assert.Equal(0, preparation.Untaken);
            Assert.Equal(EngineWeights(twin), EngineWeights(engine));
            Assert.Equal(Run(twin), Run(engine));
        }
        return engine;
    }

    /// <summary>
    /// Refits from files in a loop end, however many workers the engine's pool has (the suite runs again with four): two
    /// awake workers once took both halves of a read and waited for the calling thread to open the file, which never did.
    /// </summary>
    [Fact]
    public async Task A_loop_of_refits_from_files_never_hangs()
    {
        string[] files = [Model(10), Model(20)];
        // A thread for each processor, as users' engines have.
        using var engine = EngineConverter.Convert(files[0], new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var loop = Task.Run(() =>
        {
            for (int i = 0; i < 400; i++)
            {
                using var weights = WeightFile.Read(files[i % 2], engine);
                engine.Refit(weights.Values);
            }
        });
        await loop.WaitAsync(TimeSpan.FromSeconds(60)); // a TimeoutException if they hang
        using var expected = Build(files[1]);
        Assert.Equal(Run(expected), Run(engine));
    }

    [Fact]
    public void An_onnx_file_reports_each_weight_as_it_is_parsed_in_the_array_the_refit_will_get()
    {
        var reported = new List<(string Name, float[] Data)>();
        var values = WeightSources.FromFile(Model(10), n => new float[n], name => (data, start, end) =>
        {
            Assert.Equal((0, data.Length), (start, end));   // whole, as parsed
            reported.Add((name, data));
        });
        // In file order (not the order the import reaches them), once each, in the very arrays the file's values
        // hold: what a preparation computes from them is what the refit would compute.
        Assert.Equal(Weights(10).Reverse().Select(w => w.Name), reported.Select(r => r.Name));
        Assert.All(reported, r => Assert.Same(values[r.Name].Data, r.Data));
        Assert.All(Weights(10), w => Assert.Equal(w.Data, values[w.Name].Data));
    }

    [Fact]
    public void Every_recipe_a_preparation_computed_is_taken_and_the_refit_is_exact()
    {
        string v1 = Model(10), v2 = Model(20);
        using var engine = Build(v1);
        using var expected = Build(v2);
        var weights = WeightSources.FromFile(v2);
        using var preparation = Prepared(engine, weights);
        // Every recipe but the identities, which a refit from a file takes as the read arrays themselves; w2's pack
        // (five panels) in parts the two threads share.
        int whole = engine.Native.Plan.Weights.Count(w => w.Recipe.Kind != RecipeKind.Identity && w.Recipe.Sources.All(weights.ContainsKey));
        Assert.Equal(whole, preparation.Untaken);
        engine.Refit(weights);
        Assert.Equal(0, preparation.Untaken);
        Assert.Equal(EngineWeights(expected), EngineWeights(engine));
        Assert.Equal(Run(expected), Run(engine));
    }

    [Theory]
    [InlineData(0)]                 // the first output channel: the first part, and a first value unlike the engine's
    [InlineData(160 * 64 * 9 - 1)]  // the last: another part, whichever thread packs it
    public void A_non_finite_value_in_a_prepared_recipe_still_refuses_the_refit(int at)
    {
        string v1 = Model(10);
        using var engine = Build(v1);
        float[] before = Run(engine);
        var weights = Writable(Model(20));
        weights["w2"].Data[at] = float.NaN;
        using var preparation = Prepared(engine, weights);
        var error = Assert.Throws<RefitException>(() => engine.Refit(weights));
        Assert.Contains("w2", error.Message);
        Assert.Equal(before, Run(engine));
    }

    [Fact]
    public void Values_that_differ_from_the_engines_after_their_first_are_prepared_too()
    {
        string v1 = Model(10);
        using var engine = Build(v1);
        var weights = Writable(v1);
        weights["w2"].Data[^1] += 1;    // the rest as the engine has them
        using var preparation = Prepared(engine, weights);
        Assert.Equal(1, preparation.Untaken);
        using var expected = Build(v1);
        expected.Refit(weights);
        engine.Refit(weights);
        Assert.Equal(0, preparation.Untaken);
        Assert.Equal(EngineWeights(expected), EngineWeights(engine));
    }

    [Fact]
    public void An_identity_weights_values_are_proven_finite_beside_the_read_and_a_nan_among_them_still_refuses_the_refit()
    {
        using var engine = Build(Model(10));
        float[] before = Run(engine);
        // wg (1000×480) feeds a one-row Gemm, which keeps the weight's rows: its engine weight is the value itself.
        var finite = WeightSources.FromFile(Model(20));
        using (Prepared(engine, finite)) Assert.True(WeightPool.Made(finite["wg"].Data, out bool proven) && proven);
        var poisoned = WeightSources.FromFile(Model(30));
        poisoned["wg"].Data[123_456] = float.PositiveInfinity;
        using (Prepared(engine, poisoned))
        {
            Assert.True(WeightPool.Made(poisoned["wg"].Data, out bool proven) && !proven);
            var error = Assert.Throws<RefitException>(() => engine.Refit(poisoned));
            Assert.Contains("wg", error.Message);
        }
        Assert.Equal(before, Run(engine));
    }

    [Fact]
    public void Recipes_whose_values_the_engine_has_already_are_not_prepared()
    {
        string v1 = Model(10);
        using var engine = Build(v1);
        using var preparation = Prepared(engine, WeightSources.FromFile(v1));
        Assert.Equal(0, preparation.Untaken);
    }

    [Fact]
    public void Prepared_results_are_never_used_for_other_values()
    {
        string v1 = Model(10), v2 = Model(20), v3 = Model(30);
        using var engine = Build(v1);
        using var expected = Build(v3);
        using var preparation = Prepared(engine, WeightSources.FromFile(v2));
        Assert.True(preparation.Untaken > 0);
        engine.Refit(WeightSources.FromFile(v3));       // the same names and shapes, other arrays
        Assert.Equal(Run(expected), Run(engine));
        Assert.Equal(EngineWeights(expected), EngineWeights(engine));
    }

    [Fact]
    public void Prepared_results_are_not_taken_for_a_callers_arrays_that_may_have_changed_since()
    {
        // The same arrays handed over as a caller's own (mutable), one value changed after the preparation read them.
        string v1 = Model(10);
        using var engine = Build(v1);
        var weights = Writable(Model(20));
        using var preparation = Prepared(engine, weights);
        weights["w2"].Data[5] += 1;
        var callers = weights.ToDictionary(w => w.Key, w => w.Value with { Immutable = false });
        using var expected = Build(v1);
        expected.Refit(callers);
        engine.Refit(callers);
        Assert.Equal(EngineWeights(expected), EngineWeights(engine));
        Assert.Equal(Run(expected), Run(engine));
    }

    [Fact]
    public void Disposing_a_weight_file_withdraws_what_it_prepared()
    {
        string v1 = Model(10), v2 = Model(20);
        using var engine = Build(v1);
        using var expected = Build(v2);
        WeightFile.Read(v2, engine).Dispose();
        Assert.Null(engine.Native.Preparation);
        using (var again = WeightFile.Read(v2, engine)) engine.Refit(again.Values);   // may reuse the buffers handed back
        Assert.Equal(Run(expected), Run(engine));
    }

    [Fact]
    public void Weights_taken_as_they_are_are_read_by_one_thread_from_a_checkpoint_and_from_an_onnx_model()
    {
        // A one-row Gemm keeps its 1.2 MB weight as it is: nothing is derived, so a second thread would only share the
        // read, which cost mlp's refit from safetensors more than it saved (see WeightFile.PrepareFromBytes).
        string Gemm(int seed)
        {
            var model = new OnnxModelBuilder();
            model.AddInput("x", OnnxDataType.Float, 1, 512);
            model.AddInitializer("w", ErrorMetrics.RandomValues(seed, 600 * 512), [600, 512]);
            model.AddNode("Gemm", ["x", "w"], ["y"], ("transB", 1L));
            model.AddOutput("y", OnnxDataType.Float);
            string path = _dir.File($"gemm_{seed}.onnx");
            model.Save(path);
            return path;
        }
        string v1 = Gemm(10), v2 = Gemm(20), checkpoint = _dir.File("gemm_20.safetensors");
        SafetensorsWriter.Write(checkpoint, WeightSources.FromFile(v2).Select(w => (w.Key, w.Value.Shape, w.Value.Data)));
        using var engine = Build(v1);
        Assert.Equal(0, engine.Native.DerivedWeightBytes);
        Assert.True(engine.Native.WeightBytes >= WeightFile.PrepareFromBytes);
        using var expected = Build(v2);
        foreach (string file in new[] { v2, checkpoint, v1 })
        {
            using (var weights = WeightFile.Read(file, engine))
            {
                Assert.Null(engine.Native.Preparation);
                engine.Refit(weights.Values);
            }
            var x = new Dictionary<string, float[]> { ["x"] = Input[..512] };
            using var reference = file == v1 ? Build(v1) : null;
            Assert.Equal((reference ?? expected).Run(x)[0].Data, engine.Run(x)[0].Data);
        }
    }

    [Fact]
    public void A_checkpoint_with_other_names_is_prepared_under_the_engine_names()
    {
        string v1 = Model(10), v2 = Model(20);
        string checkpoint = _dir.File("ddp.safetensors");
        SafetensorsWriter.Write(checkpoint, Weights(20).Select(w => ("module." + w.Name, w.Shape, w.Data)));
        using var engine = Build(v1);
        using var expected = Build(v2);
        // Named on this thread, before the read: a caller's map may run code that must stay on it (a PowerShell script block).
        var threads = new System.Collections.Concurrent.ConcurrentBag<int>();
        using var weights = WeightFile.Read(checkpoint, engine, name =>
        {
            threads.Add(Environment.CurrentManagedThreadId);
            return name["module.".Length..];
        });
        var preparation = engine.Native.Preparation;
        engine.Refit(weights.Values.ToDictionary(w => w.Key["module.".Length..], w => w.Value));
        if (CanPrepare) Assert.Equal(0, preparation!.Untaken);
        Assert.Equal(Run(expected), Run(engine));
        // One core prepares nothing, and the map is then the refit's alone.
        Assert.Equal(CanPrepare ? Weights(20).Count() : 0, threads.Count);
        Assert.All(threads, thread => Assert.Equal(Environment.CurrentManagedThreadId, thread));
    }

    [Fact]
    public void A_safetensors_file_read_by_two_threads_in_pieces_prepares_every_recipe_and_the_refit_is_exact()
    {
        // wg (1.9 MB) and w2 (1.1 MB) are several pieces each, which the two threads share.
        string[] files = new[] { 10, 20 }.Select(seed =>
        {
            string file = _dir.File($"pieces_{seed}.safetensors");
            SafetensorsWriter.Write(file, Weights(seed));
            return file;
        }).ToArray();
        RefitsAsATwinWould(Model(10), files).Dispose();
    }

    [Fact]
    public void A_checkpoint_read_in_pieces_with_integers_under_a_weight_s_name_is_refused_and_integer_counters_are_left_out()
    {
        // mean (a BatchNorm parameter the folded w1 needs) as int64, and a torch-style step counter beside the weights.
        string checkpoint = _dir.File("ints.safetensors");
        var tensors = Weights(20).Select(w => (w.Name, w.Shape, w.Data, DType: w.Name == "mean" ? "I64" : "F32")).ToList();
        SafetensorsWriter.Write(checkpoint, [.. tensors, ("bn.num_batches_tracked", [], [7f], "I64")]);
        using var engine = Build(Model(10));
        float[] before = Run(engine);
        var refused = Assert.Throws<RefitException>(() =>
        {
            using var weights = WeightFile.Read(checkpoint, engine);
            Assert.Equal(CanPrepare, engine.Native.Preparation is not null);
            engine.Refit(weights.Values);
        });
        Assert.Equal("mean", Assert.Single(refused.Check.Mismatched).Name);
        Assert.Empty(refused.Check.Extra);
        Assert.Equal(before, Run(engine));

        tensors[3] = tensors[3] with { DType = "F32" };
        SafetensorsWriter.Write(checkpoint, [.. tensors, ("bn.num_batches_tracked", [], [7f], "I64")]);
        using (var weights = WeightFile.Read(checkpoint, engine)) engine.Refit(weights.Values);
        using var expected = Build(Model(20));
        Assert.Equal(Run(expected), Run(engine));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void A_weight_read_in_pieces_is_packed_as_they_arrive_in_order_and_the_refit_is_exact(bool batchNorm, bool firstValueChanges)
    {
        // A convolution weight's output channels arrive as [0, cut), [cut2, all), [cut, cut2), the other weights whole
        // before them: w2 (160 channels of 576 values, packed alone), or w of a 256-channel convolution folded with a
        // BatchNormalization's four parameters. With its first value changed, the parts whose channels are all in the
        // first piece are packed from it alone, and no more while the middle is missing; with only its last value changed
        // (the first as the engine has it) it waits for the whole weight, and compares it.
        var (name, row, cut, cut2) = batchNorm ? ("w", 32 * 9, 160, 200) : ("w2", 64 * 9, 80, 120);
        string v1 = batchNorm ? FoldedModel(10) : Model(10);
        using var engine = Build(v1);
        var weights = firstValueChanges ? Writable(batchNorm ? FoldedModel(20) : Model(20)) : Writable(v1);
        if (!firstValueChanges) weights[name].Data[^1] += 1;
        using var expected = Build(v1);
        expected.Refit(weights);
        var plan = engine.Native.Plan;
        int packed = Array.FindIndex(plan.Weights, w => w.Recipe.Kind != RecipeKind.Identity && w.Recipe.Sources[0] == name);
        var parts = RecipeEvaluation.Parts(plan.Weights[packed], RefitPreparation.PartFloats);
        float[] values = weights[name].Data;
        int channels = values.Length / row;
        int early = parts.TakeWhile(p => plan.Weights[packed].Recipe.SourceRange(p.First, p.End, values.Length)!.Value.End <= cut * row).Count();
        Assert.InRange(early, 1, parts.Length - 1);
        var claimed = new List<int>();
        using var preparation = new RefitPreparation(engine.Native);
        preparation.WhileReading(() => 1, _ =>
        {
            foreach (var (other, value) in weights.Where(w => w.Key != name)) preparation.Supply(other, value.Data, 0, value.Data.Length);
            foreach (var (start, end) in new[] { (0, cut), (cut2, channels), (cut, cut2) })
            {
                preparation.Supply(name, values, start * row, end * row);
                claimed.Add(preparation.PartsClaimed(packed));
            }
        });
        Assert.Equal(firstValueChanges ? [early, early] : [0, 0], claimed[..2]);
        Assert.Equal(parts.Length, preparation.PartsClaimed(packed));
        Assert.Equal(firstValueChanges ? plan.Weights.Count(w => w.Recipe.Kind != RecipeKind.Identity) : 1, preparation.Untaken);
        engine.Refit(weights);
        Assert.Equal(0, preparation.Untaken);
        Assert.Equal(EngineWeights(expected), EngineWeights(engine));
        Assert.Equal(Run(expected), Run(engine));
    }

    [Fact]
    public void A_read_that_fails_is_thrown_once_both_threads_stop_and_nothing_is_offered()
    {
        using var engine = Build(Model(10));
        float[] before = Run(engine);
        var weights = WeightSources.FromFile(Model(20)).ToArray();
        using var preparation = new RefitPreparation(engine.Native);
        var error = Assert.Throws<IOException>(() => preparation.WhileReading(() => weights.Length, j =>
        {
            if (j == 3) throw new IOException("the disk went away");
            preparation.Supply(weights[j].Key, weights[j].Value.Data, 0, weights[j].Value.Data.Length);
        }));
        Assert.Equal("the disk went away", error.Message);
        Assert.Null(engine.Native.Preparation);
        Assert.Equal(before, Run(engine));
    }

    [Fact]
    public void A_file_with_nothing_to_read_prepares_nothing_and_returns()
    {
        using var engine = Build(Model(10));
        using var preparation = new RefitPreparation(engine.Native);
        preparation.WhileReading(() => 0, _ => throw new InvalidOperationException("no item to read"));
        Assert.Equal(0, preparation.Untaken);
    }

    [Fact]
    public void A_file_with_a_wrong_shape_is_refused_with_the_engine_untouched()
    {
        string v1 = Model(10);
        string bad = _dir.File("bad.safetensors");
        SafetensorsWriter.Write(bad, Weights(20).Select(w => w.Name == "w2" ? (w.Name, new[] { 160, 64 * 9 - 1 }, w.Data[..(160 * (64 * 9 - 1))]) : w));
        using var engine = Build(v1);
        float[] before = Run(engine);
        var weightsBefore = EngineWeights(engine);
        using var weights = WeightFile.Read(bad, engine);
        var error = Assert.Throws<RefitException>(() => engine.Refit(weights.Values));
        Assert.Contains("w2", error.Message);
        Assert.Equal(before, Run(engine));
        Assert.Equal(weightsBefore, EngineWeights(engine));
    }

    [Fact]
    public void A_file_cut_short_while_recipes_are_prepared_is_refused_and_offers_nothing()
    {
        string v1 = Model(10), v2 = Model(20);
        string checkpoint = _dir.File("cut.safetensors");
        SafetensorsWriter.Write(checkpoint, Weights(20));
        byte[] bytes = File.ReadAllBytes(checkpoint);
        File.WriteAllBytes(checkpoint, bytes[..(bytes.Length - 4096)]);   // the last tensor's bytes end early
        using var engine = Build(v1);
        float[] before = Run(engine);
        Assert.Throws<WeightFormatException>(() => WeightFile.Read(checkpoint, engine));
        Assert.Null(engine.Native.Preparation);
        Assert.Equal(before, Run(engine));
        using var expected = Build(v2);
        using (var weights = WeightFile.Read(v2, engine)) engine.Refit(weights.Values);
        Assert.Equal(Run(expected), Run(engine));
    }

    [Fact]
    public void A_checkpoint_whose_header_fails_to_parse_is_refused_as_a_plain_read_refuses_it_and_offers_nothing()
    {
        string checkpoint = _dir.File("broken.safetensors");
        SafetensorsWriter.Write(checkpoint, Weights(20));
        byte[] bytes = File.ReadAllBytes(checkpoint);
        bytes[8] = (byte)'[';   // the header's opening brace: no longer a JSON object
        File.WriteAllBytes(checkpoint, bytes);
        using var engine = Build(Model(10));
        float[] before = Run(engine);
        // The header is parsed on the calling thread while the engine's other thread waits; its error comes back as it is.
        var alone = Assert.Throws<WeightFormatException>(() => WeightFile.Read(checkpoint));
        var forEngine = Assert.Throws<WeightFormatException>(() => WeightFile.Read(checkpoint, engine));
        Assert.Equal(alone.Message, forEngine.Message);
        Assert.Null(engine.Native.Preparation);
        Assert.Equal(before, Run(engine));
        using var expected = Build(Model(20));
        using (var weights = WeightFile.Read(Model(20), engine)) engine.Refit(weights.Values);
        Assert.Equal(Run(expected), Run(engine));
    }

    [Theory]
    [InlineData(".onnx")]
    [InlineData(".safetensors")]
    public void A_file_read_for_a_disposed_engine_is_refused_as_disposed(string extension)
    {
        // Its reading threads compared the weights with the disposed engine's (none) and failed out of range.
        string file = Model(20);
        if (extension == ".safetensors")
        {
            file = _dir.File("disposed_20.safetensors");
            SafetensorsWriter.Write(file, Weights(20));
        }
        var engine = Build(Model(10));
        engine.Dispose();
        var error = Assert.Throws<EngineDisposedException>(() =>
        {
            using var weights = WeightFile.Read(file, engine);
            engine.Refit(weights.Values);
        });
        Assert.Contains(engine.Name, error.Message);
    }

    [Theory]
    [InlineData(".onnx")]
    [InlineData(".safetensors")]
    public async Task Inferences_during_refits_from_files_see_the_old_weights_or_the_new_never_a_mix(string extension)
    {
        // The preparation holds the engine's worker pool for the read; inferences on other threads meanwhile run on their own.
        string v1 = Model(10), model2 = Model(20), v2 = model2;
        if (extension == ".safetensors")
        {
            v2 = _dir.File("mix_20.safetensors");
            SafetensorsWriter.Write(v2, Weights(20));
        }
        using var engine = Build(v1);
        string one, two;
        using (var e1 = Build(v1)) one = string.Join(",", Run(e1));
        using (var e2 = Build(model2)) two = string.Join(",", Run(e2));
        using var stop = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) seen.Add(string.Join(",", Run(engine)));
        })).ToArray();
        string[] files = [v2, v1];
        var deadline = DateTime.UtcNow.AddSeconds(20);
        int refits = 0;
        while ((refits < 40 || seen.Count < 40) && DateTime.UtcNow < deadline)
            using (var weights = WeightFile.Read(files[refits++ % 2], engine)) engine.Refit(weights.Values);
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.True(seen.Count >= 40, $"{seen.Count} inferences ran beside {refits} refits");
        Assert.All(seen, output => Assert.True(output == one || output == two, "an inference saw a mix of two weight sets"));
        Assert.Equal(refits % 2 == 1 ? two : one, string.Join(",", Run(engine)));
    }

    [Fact]
    public void An_onnx_file_with_its_weights_in_external_data_refits_as_one_with_them_inside()
    {
        // The model file is read as it is parsed; the weights come from the side file as each initializer is met.
        using var engine = Build(Model(10));
        using var expected = Build(Model(20));
        using (var weights = WeightFile.Read(Model(20, TensorEncoding.External), engine)) engine.Refit(weights.Values);
        Assert.Equal(EngineWeights(expected), EngineWeights(engine));
        Assert.Equal(Run(expected), Run(engine));
    }

    /// <summary>
    /// Mutated weight files (bytes flipped, cut off, inserted or removed; in a safetensors checkpoint a quarter of them a
    /// header number made extreme instead) read for the engine by its two threads (a checkpoint in pieces, an ONNX model
    /// parsed on one while the other packs): each refits the engine to exactly what a plain read of the same file gives
    /// its twin, or is refused (a malformed file, a missing or misshapen weight, a value that is not finite) with the
    /// engine's weights untouched and nothing left on offer; no other error, no hang.
    /// </summary>
    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".onnx")]
    public void Mutated_files_read_for_the_engine_refit_it_as_a_plain_read_would_or_leave_it_untouched(string extension)
    {
        string seedFile = Model(20);
        if (extension == ".safetensors") SafetensorsWriter.Write(seedFile = _dir.File("seed.safetensors"), Weights(20));
        byte[] seed = File.ReadAllBytes(seedFile);
        using var engine = Build(Model(10));
        using var twin = Build(Model(10));
        var random = new Random(7101);
        string file = _dir.File("mutant" + extension);
        int refitted = 0;
        var runner = new FuzzRunner("prepared-refit" + extension,
            _ => extension == ".safetensors" && random.Next(4) == 0 ? Mutator.HeaderNumbers(seed, random) : Mutator.Mutate(seed, random),
            bytes =>
            {
                File.WriteAllBytes(file, bytes);
                ulong before = Digest(engine);
                try
                {
                    using var weights = WeightFile.Read(file, engine);
                    engine.Refit(weights.Values);
                }
                catch (Exception e) when (Refused(e))
                {
                    if (engine.Native.Preparation is not null || before != Digest(engine))
                        throw new InvalidOperationException($"a refused refit ({e.Message}) changed the engine or left a preparation on offer");
                    throw;
                }
                try
                {
                    twin.Refit(WeightSources.FromFile(file));
                }
                catch (Exception e) when (Refused(e))
                {
                    throw new InvalidOperationException($"a plain read refused what the engine's read took: {e.Message}");
                }
                if (Digest(twin) != Digest(engine))
                    throw new InvalidOperationException("the engine's weights differ from its twin's");
                refitted++;
                return null;
            },
            Refused, FuzzRunner.AllocationLimit);
        int trials = Soak.Trials(150, 3000);
        runner.Run(trials);
        Soak.Report(output, "fuzz-prepared-refit-" + extension.TrimStart('.'), runner.Summary(trials) + $"; {refitted} refitted the engine as a plain read did");
        Assert.True(runner.Failures.Count == 0, string.Join("\n", runner.Failures));
        Assert.True(refitted > 0 && runner.Refused > 0, runner.Summary(trials));
        Assert.Equal(Run(twin), Run(engine));


        // What a malformed model, checkpoint or weight set is refused with.
        static bool Refused(Exception e) => e is WeightFormatException or RefitException or OnnxFormatException or ModelImportException
            or UnsupportedOperatorException or Native.Network.ShapeException;
    }
}
