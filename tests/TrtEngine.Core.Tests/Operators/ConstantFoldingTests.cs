using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Network;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// Float subgraphs with no run-time input (exports without constant folding): folded at import, matched against ONNX
/// Runtime, and still exactly refittable through the folded operations the engine keeps.
/// </summary>
public sealed class ConstantFoldingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_transposed_parameter_feeds_a_gemm()
    {
        var c = new OperatorCase().Input("x", 3, 6).Weight("w", 4, 6).Weight("b", 4).Output("y");
        c.Model.AddNode("Transpose", ["w"], ["wt"], ("perm", new long[] { 1, 0 }));
        c.Model.AddNode("MatMul", ["x", "wt"], ["xw"]);
        c.Model.AddNode("Add", ["xw", "b"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void A_convolution_weight_scaled_by_a_constant_and_a_bias_unsqueezed()
    {
        var c = new OperatorCase().Input("x", 2, 3, 7, 7).Weight("w", 5, 3, 3, 3).Weight("b", 5).Output("y");
        c.Model.AddNode("Constant", [], ["half"], ("value", TensorValue.Float([0.5f], [])));
        c.Model.AddNode("Mul", ["w", "half"], ["ws"]);
        c.Model.AddNode("Conv", ["x", "ws"], ["conv"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddInitializer("axes", new long[] { 1, 2 }, [2]);
        c.Model.AddNode("Unsqueeze", ["b", "axes"], ["b3"]);
        c.Model.AddNode("Add", ["conv", "b3"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Concatenated_reshaped_and_multiplied_parameters()
    {
        var c = new OperatorCase().Input("x", 2, 8).Weight("u", 8, 2).Weight("v", 2, 3).Weight("p", 1, 3).Weight("q", 3).Output("y");
        c.Model.AddNode("MatMul", ["u", "v"], ["uv"]); // a low-rank factorised weight
        c.Model.AddInitializer("shape", new long[] { 1, 3 }, [2]);
        c.Model.AddNode("Reshape", ["q", "shape"], ["q2"]);
        c.Model.AddNode("Concat", ["p", "q2"], ["pq"], ("axis", 0L));
        c.Model.AddNode("Flatten", ["pq"], ["pqf"], ("axis", 1L));
        c.Model.AddNode("Gemm", ["x", "uv"], ["g"]);
        c.Model.AddNode("Sub", ["pqf", "q"], ["bias"]);
        c.Model.AddNode("Add", ["g", "bias"], ["gb"]);
        c.Model.AddNode("Relu", ["gb"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>x · (w · s · 2)ᵀ + b with w, s, b parameters and a constant 2: the shape of a layer exported unfolded.</summary>
    private string Save(string file, int seed)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, "batch", 6);
        m.AddInitializer("w", ErrorMetrics.RandomValues(seed, 4 * 6), [4, 6]);
        m.AddInitializer("s", ErrorMetrics.RandomValues(seed + 1, 4), [4, 1]);
        m.AddInitializer("b", ErrorMetrics.RandomValues(seed + 2, 4), [4]);
        m.AddNode("Constant", [], ["two"], ("value", TensorValue.Float([2f], [])));
        m.AddNode("Mul", ["w", "s"], ["ws"]);
        m.AddNode("Mul", ["ws", "two"], ["ws2"]);
        m.AddNode("Transpose", ["ws2"], ["wt"], ("perm", new long[] { 1, 0 }));
        m.AddNode("MatMul", ["x", "wt"], ["xw"]);
        m.AddNode("Add", ["xw", "b"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        string path = _dir.File(file);
        m.Save(path);
        return path;
    }

    private static readonly float[] Input = ErrorMetrics.RandomValues(77, 3 * 6);

    private static float[] Run(Engines.TrtEngine engine) =>
        engine.Run(new Dictionary<string, float[]> { ["x"] = Input }, new Dictionary<string, int[]> { ["x"] = [3, 6] })[0].Data;

    private static void AssertMatchesOnnxRuntime(Engines.TrtEngine engine, string model)
    {
        var expected = OrtOracle.Run(File.ReadAllBytes(model), new Dictionary<string, (int[] Shape, float[] Data)> { ["x"] = ([3, 6], Input) })["y"].Data;
        Assert.True(ErrorMetrics.RelativeL2(Run(engine), expected) <= 1e-5);
    }

    [Fact]
    public void Folded_parameters_refit_exactly_from_a_model_a_checkpoint_and_into_a_stripped_engine()
    {
        string v1 = Save("v1.onnx", 1), v2 = Save("v2.onnx", 2);
        var engine = EngineConverter.Convert(v1, new ConversionSettings { UseCache = false });
        AssertMatchesOnnxRuntime(engine, v1);
        var plan = engine.Native.Plan;
        Assert.Subset(plan.ModelWeights.Select(m => m.Name).ToHashSet(), new HashSet<string> { "w", "s", "b", "two", "ws", "ws2" });
        Assert.Equal(2, plan.FoldedOps.Length);
        Assert.All(plan.ModelWeights.Where(m => m.Name is "ws" or "ws2"), m => Assert.Equal(WeightKind.Computed, m.Kind));
        // The MatMul by the transposed weight reads ws2 itself as a transposed B: no transposed copy is kept or recomputed.
        Assert.DoesNotContain(plan.ModelWeights, m => m.Name == "wt");
        var gemm = Assert.Single(plan.Layers.OfType<Native.Layers.GemmLayer>());
        Assert.True(gemm.TransB);
        Assert.Equal(["ws2"], plan.Weights[gemm.B.Index].Recipe.Sources);

        engine.Refit(WeightSources.FromFile(v2));
        AssertMatchesOnnxRuntime(engine, v2);

        // A checkpoint holds the parameters only; the constant 2 and the folded operations travel in the plan.
        AssertStrippedRefitsFromCheckpoint(engine, v1, [("w", [4, 6], ErrorMetrics.RandomValues(1, 24)), ("s", [4, 1], ErrorMetrics.RandomValues(2, 4)), ("b", [4], ErrorMetrics.RandomValues(3, 4))]);
    }

    /// <summary>The engine exported without weights, imported and refitted from a checkpoint of these parameters, matches <paramref name="model"/>.</summary>
    private void AssertStrippedRefitsFromCheckpoint(Engines.TrtEngine engine, string model, IEnumerable<(string Name, int[] Shape, float[] Data)> parameters)
    {
        string checkpoint = _dir.File(Path.GetFileNameWithoutExtension(model) + ".safetensors");
        SafetensorsWriter.Write(checkpoint, parameters);
        using var stripped = new MemoryStream();
        engine.Export(stripped, includeWeights: false);
        var imported = Engines.TrtEngine.Import(stripped.ToArray());
        imported.Refit(WeightSources.FromFile(checkpoint));
        AssertMatchesOnnxRuntime(imported, model);
    }

    [Fact]
    public void A_computed_weight_cannot_be_supplied_and_a_partial_refit_takes_the_partners_of_what_it_changes_from_the_engine()
    {
        string path = Save("m.onnx", 1);
        var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false });
        float[] before = Run(engine);

        var computed = Assert.Throws<RefitException>(() => engine.Refit(new Dictionary<string, WeightValue>
        {
            ["w"] = new([4, 6], ErrorMetrics.RandomValues(5, 24)), ["s"] = new([4, 1], ErrorMetrics.RandomValues(6, 4)),
            ["b"] = new([4], ErrorMetrics.RandomValues(7, 4)), ["ws2"] = new([4, 6], ErrorMetrics.RandomValues(8, 24)),
        }));
        Assert.Contains(computed.Check.Mismatched, m => m.Name == "ws2" && m.Problem.Contains("is computed from ws"));

        // An engine loaded with packed weights only does not know the partners of what a partial refit changes...
        var s = new WeightValue([4, 1], ErrorMetrics.RandomValues(6, 4));
        using (var plan = new MemoryStream())
        {
            engine.Export(plan, includeWeights: true);
            var imported = Engines.TrtEngine.Import(plan.ToArray());
            var partial = Assert.Throws<RefitException>(() => imported.Refit(new Dictionary<string, WeightValue> { ["s"] = s }, partial: true));
            Assert.Equal(["w"], partial.Check.Missing);
            Assert.Equal(before, Run(imported));
        }
        Assert.Equal(before, Run(engine));

        // ...an engine that keeps its model weights takes them from there, and the folded weight comes out exact.
        engine.Refit(new Dictionary<string, WeightValue> { ["s"] = s }, partial: true);
        var expected = EngineConverter.Convert(path, new ConversionSettings { UseCache = false });
        expected.Refit(new Dictionary<string, WeightValue>(WeightSources.FromFile(path)) { ["s"] = s });
        Assert.Equal(Run(expected), Run(engine));
        before = Run(engine);

        // The bias alone is a plain partial refit; the folded weight keeps its buffers.
        engine.Refit(new Dictionary<string, WeightValue> { ["b"] = new([4], new float[4]) }, partial: true);
        Assert.NotEqual(before, Run(engine));
    }

    [Fact]
    public void Constants_alone_fold_into_a_constant_and_the_folded_operation_is_part_of_the_key()
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 2, 3);
        m.AddNode("Constant", [], ["a"], ("value", TensorValue.Float([1f, 2f, 3f], [3])));
        m.AddNode("Constant", [], ["b"], ("value", TensorValue.Float([4f], [])));
        m.AddNode("Div", ["a", "b"], ["ab"]);
        m.AddNode("Mul", ["x", "ab"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        var network = OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m");
        Assert.Empty(network.FoldedOps);
        Assert.Equal([0.25f, 0.5f, 0.75f], network.Weights.Single(w => w.Name == "ab").Values);

        string Key(long[] perm)
        {
            var g = new OnnxModelBuilder();
            g.AddInput("x", OnnxDataType.Float, 3, 4);
            g.AddInitializer("w", ErrorMetrics.RandomValues(1, 16), [4, 4]);
            g.AddNode("Transpose", ["w"], ["wt"], ("perm", perm));
            g.AddNode("MatMul", ["x", "wt"], ["y"]);
            g.AddOutput("y", OnnxDataType.Float);
            string path = _dir.File($"t{perm[0]}.onnx");
            g.Save(path);
            return EngineConverter.Convert(path, new ConversionSettings { CacheDirectory = _dir.File("cache"), OptimizationLevel = 0 }).CacheKey!;
        }
        Assert.NotEqual(Key([1, 0]), Key([0, 1]));
    }

    /// <summary>
    /// A fused projection cut into parts as attention exports it unfolded: Split of in_proj [12, 6] into q, k and v,
    /// a reversed strided Slice of its bias, a Gather of one matrix of a stacked parameter (its axis dropped) and a
    /// Gather of every second row; each feeds a Gemm, summed into y [batch, 4].
    /// </summary>
    private string SaveSliced(string file, int seed)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, "batch", 6);
        m.AddInitializer("in_proj", ErrorMetrics.RandomValues(seed, 12 * 6), [12, 6]);
        m.AddInitializer("in_bias", ErrorMetrics.RandomValues(seed + 1, 12), [12]);
        m.AddInitializer("stacked", ErrorMetrics.RandomValues(seed + 2, 2 * 4 * 6), [2, 4, 6]);
        m.AddInitializer("sizes", new long[] { 4, 4, 4 }, [3]);
        m.AddInitializer("starts", new long[] { -1 }, [1]);
        m.AddInitializer("ends", new long[] { -13 }, [1]);
        m.AddInitializer("axes", new long[] { 0 }, [1]);
        m.AddInitializer("steps", new long[] { -3 }, [1]);
        m.AddInitializer("one", new long[] { 1 }, []);
        m.AddInitializer("odd", new long[] { 1, 3, 5, 7 }, [4]);
        m.AddNode("Split", ["in_proj", "sizes"], ["q", "k", "v"], ("axis", 0L));
        m.AddNode("Slice", ["in_bias", "starts", "ends", "axes", "steps"], ["bias"]);    // rows 11, 8, 5, 2
        m.AddNode("Gather", ["stacked", "one"], ["second"], ("axis", 0L));
        m.AddNode("Gather", ["in_proj", "odd"], ["rows"], ("axis", 0L));
        string sum = "";
        foreach (var (w, i) in new[] { "q", "k", "v", "second", "rows" }.Select((w, i) => (w, i)))
        {
            m.AddNode("Gemm", i == 2 ? ["x", w, "bias"] : ["x", w], [$"g{i}"], ("transB", 1L));
            if (i > 0) m.AddNode("Add", [i == 1 ? "g0" : sum, $"g{i}"], [sum = $"s{i}"]);
        }
        m.AddNode("Relu", [sum], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        string path = _dir.File(file);
        m.Save(path);
        return path;
    }

    [Fact]
    public void Parameters_split_sliced_and_gathered_fold_and_refit_exactly()
    {
        string v1 = SaveSliced("s1.onnx", 1), v2 = SaveSliced("s2.onnx", 2);
        var engine = EngineConverter.Convert(v1, new ConversionSettings { UseCache = false });
        AssertMatchesOnnxRuntime(engine, v1);
        var plan = engine.Native.Plan;
        Assert.Equal(6, plan.FoldedOps.Count(o => o.Kind == FoldedOpKind.Slice));
        Assert.Equal(["in_bias", "in_proj", "stacked"], plan.ModelWeights.Where(m => m.Kind == WeightKind.Parameter).Select(m => m.Name).Order(StringComparer.Ordinal));
        var info = Engines.TrtEngineInfo.From(engine);
        Assert.Contains("q = Slice(in_proj)", info.ComputedWeights);
        Assert.Contains("second = Slice(stacked)", info.ComputedWeights);
        Assert.DoesNotContain("q", info.ModelWeights);

        engine.Refit(WeightSources.FromFile(v2));
        AssertMatchesOnnxRuntime(engine, v2);
        using var built = EngineConverter.Convert(v2, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        using var level0 = EngineConverter.Convert(v1, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        level0.Refit(WeightSources.FromFile(v2));
        Assert.Equal(Run(built), Run(level0));

        // A stripped engine and a checkpoint of the three parameters, by their own names.
        AssertStrippedRefitsFromCheckpoint(engine, v1,
            WeightSources.FromFile(v1).Where(w => w.Key is "in_proj" or "in_bias" or "stacked").Select(w => (w.Key, w.Value.Shape, w.Value.Data)));
    }

    /// <summary>A parameter [3·rows, 6] split into three [rows, 6] weights (sizes no other test's buffers have), each a Gemm's.</summary>
    private string SaveSplit(string file, int seed, int rows)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, "batch", 6);
        m.AddInitializer("in_proj", ErrorMetrics.RandomValues(seed, 3 * rows * 6), [3 * rows, 6]);
        m.AddInitializer("sizes", new long[] { rows, rows, rows }, [3]);
        m.AddNode("Split", ["in_proj", "sizes"], ["q", "k", "v"], ("axis", 0L));
        foreach (string w in new[] { "q", "k", "v" }) m.AddNode("Gemm", ["x", w], ["g" + w], ("transB", 1L));
        m.AddNode("Add", ["gq", "gk"], ["s"]);
        m.AddNode("Mul", ["s", "gv"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        string path = _dir.File(file);
        m.Save(path);
        return path;
    }

    /// <summary>
    /// Weights read for a refit: those the model's folds compute are not computed (a refit computes them again from the
    /// parameters), yet read later they are what the folds give; and refits alternating reads of two weight sets stay
    /// exact, so nothing handed back was still in use.
    /// </summary>
    [Fact]
    public void A_read_for_a_refit_computes_no_weight_of_its_folds()
    {
        string v1 = SaveSplit("p1.onnx", 1, rows: 37), v2 = SaveSplit("p2.onnx", 2, rows: 37);
        using var engine = EngineConverter.Convert(v1, new ConversionSettings { UseCache = false });
        using var built = EngineConverter.Convert(v2, new ConversionSettings { UseCache = false });
        float[][] expected = [Run(engine), Run(built)];
        AssertMatchesOnnxRuntime(engine, v1);

        NetworkDefinition? network = null;
        var values = WeightSources.FromFile(v2, WeightPool.Rent, imported: n => network = n);
        var computed = network!.Weights.Where(w => w.Kind == WeightKind.Computed).ToDictionary(w => w.Name);
        Assert.Equal(["k", "q", "v"], computed.Keys.Order(StringComparer.Ordinal));
        Assert.All(computed.Values, w => Assert.False(w.HasValues, $"'{w.Name}' was computed"));
        Assert.Equal(["in_proj"], values.Keys);
        // Read now (the read's parameter is still held), each is its third of the parameter's rows.
        float[] inProj = values["in_proj"].Data;
        Assert.Equal(inProj[..222], computed["q"].Values);
        Assert.Equal(inProj[222..444], computed["k"].Values);
        Assert.Equal(inProj[444..], computed["v"].Values);

        for (int i = 0; i < 12; i++)
        {
            using var file = WeightFile.Read(i % 2 == 0 ? v2 : v1, engine);
            engine.Refit(file.Values);
            Assert.Equal(expected[(i + 1) % 2], Run(engine));
        }
    }

    /// <summary>
    /// A cache hit refits the entry from the model's parameters (its folds' weights computed by the refit alone), and
    /// reads that rent buffers of those weights' sizes afterwards leave the hit engine's outputs and the built one's as
    /// they were.
    /// </summary>
    [Fact]
    public void A_cache_hit_keeps_its_own_weights_from_reads_after_it()
    {
        string v1 = SaveSplit("c1.onnx", 1, rows: 41), v2 = SaveSplit("c2.onnx", 2, rows: 41);
        using var cache = new TempDirectory();
        var settings = new ConversionSettings { CacheDirectory = cache.Path };
        using var built = EngineConverter.Convert(v1, settings);
        using var hit = EngineConverter.Convert(v2, settings);
        Assert.False(built.FromCache);
        Assert.True(hit.FromCache);
        using var reference = EngineConverter.Convert(v2, new ConversionSettings { UseCache = false });
        float[] first = Run(built), second = Run(hit);
        Assert.Equal(Run(reference), second);
        for (int i = 0; i < 6; i++)
        {
            using var file = WeightFile.Read(i % 2 == 0 ? v1 : v2);
            Assert.Equal(first, Run(built));
            Assert.Equal(second, Run(hit));
        }
    }

    [Theory]
    [InlineData("Gather", "evenly spaced")]
    [InlineData("Split", "do not make up")]
    public void A_parameter_cut_in_a_way_that_is_not_a_slice_of_it_is_refused_at_import(string op, string message)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 2, 6);
        m.AddInitializer("w", ErrorMetrics.RandomValues(1, 24), [4, 6]);
        // Rows 0, 1 and 3; or parts of 3 and 3 rows from 4.
        m.AddInitializer("picks", op == "Gather" ? [0, 1, 3] : new long[] { 3, 3 }, [op == "Gather" ? 3 : 2]);
        m.AddNode(op, ["w", "picks"], op == "Gather" ? ["wp"] : ["wp", "rest"], ("axis", 0L));
        m.AddNode("Gemm", ["x", "wp"], ["y"], ("transB", 1L));
        m.AddOutput("y", OnnxDataType.Float);
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// scaled_dot_product_attention's is_causal as torch exports it: ones expanded to [L, L], Trilu (lower, or upper with
    /// a diagonal offset), Equal to 0 (or Less/Greater), a Where between −∞ and 0, added to the scores; folded to one
    /// constant at import.
    /// </summary>
    [Theory]
    [InlineData("Equal", 0, 0L)] // the lower triangle's zeros masked
    [InlineData("Less", 0, 0L)]
    [InlineData("Greater", 1, 1L)] // the band above the diagonal masked
    public void A_causal_mask_of_constants_folds_at_import(string compare, int upper, long k)
    {
        var c = new OperatorCase().BatchedInput("x", 2, 5, 5).Output("y");
        c.Model.Opset = 17;
        // Constant nodes, as torch writes them (an initializer is a weight a refit may change).
        c.Model.AddNode("Constant", [], ["one"], ("value", TensorValue.Scalar(1f)));
        c.Model.AddInitializer("square", new long[] { 5, 5 }, [2]);
        c.Model.AddNode("Expand", ["one", "square"], ["ones"]);
        c.Model.AddInitializer("k", new long[] { k }, [1]);
        c.Model.AddNode("Trilu", ["ones", "k"], ["band"], ("upper", (long)upper));
        c.Model.AddNode("Constant", [], ["half"], ("value", TensorValue.Scalar(compare == "Equal" ? 0f : 0.5f)));
        c.Model.AddNode(compare, ["band", "half"], ["masked"]);
        c.Model.AddNode("Constant", [], ["minus_inf"], ("value", TensorValue.Scalar(float.NegativeInfinity)));
        c.Model.AddNode("Constant", [], ["zero"], ("value", TensorValue.Scalar(0f)));
        c.Model.AddNode("Where", ["masked", "minus_inf", "zero"], ["mask"]);
        c.Model.AddNode("Add", ["x", "mask"], ["scores"]);
        c.Model.AddNode("Softmax", ["scores"], ["y"], ("axis", -1L));
        c.AssertMatchesOnnxRuntime();
        Assert.DoesNotContain(c.Plan!.Layers, l => l.Name.Contains("Trilu", StringComparison.Ordinal) || l.Name.Contains("Where", StringComparison.Ordinal));
    }

    /// <summary>
    /// The same mask as torch's dynamo-based exporter writes it: its 1.0, 0.0 and −3.4e38 are initializers, not Constant
    /// nodes. Single values feeding the mask are folded as constants: a refit may leave them out, or give them unchanged,
    /// and a refit that changes one is refused (the mask was computed from it), leaving the engine as it was.
    /// </summary>
    [Fact]
    public void A_causal_mask_whose_constants_are_initializers_folds_and_refits()
    {
        var c = new OperatorCase().BatchedInput("x", 2, 5, 5).Output("y");
        c.Model.Opset = 18;
        c.Model.AddInitializer("one", TensorValue.Scalar(1f));
        c.Model.AddInitializer("square", new long[] { 5, 5 }, [2]);
        c.Model.AddNode("Expand", ["one", "square"], ["ones"]);
        c.Model.AddNode("Trilu", ["ones"], ["band"], ("upper", 0L));
        c.Model.AddInitializer("zero", TensorValue.Scalar(0f));
        c.Model.AddNode("Equal", ["band", "zero"], ["masked"]);
        c.Model.AddInitializer("lowest", TensorValue.Scalar(float.MinValue));
        c.Model.AddNode("Where", ["masked", "lowest", "zero"], ["mask"]);
        c.Weight("scale", 5);
        c.Model.AddNode("Mul", ["x", "scale"], ["scaled"]);
        c.Model.AddNode("Add", ["scaled", "mask"], ["scores"]);
        c.Model.AddNode("Softmax", ["scores"], ["y"], ("axis", -1L));
        c.AssertMatchesOnnxRuntime();
        Assert.DoesNotContain(c.Plan!.Layers, l => l.Name.Contains("Trilu", StringComparison.Ordinal) || l.Name.Contains("Where", StringComparison.Ordinal));

        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "mask.onnx");
        c.Model.Save(path);
        using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var x = new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(7, 50) };
        var shapes = new Dictionary<string, int[]> { ["x"] = [2, 5, 5] };
        float[] before = engine.Run(x, shapes)[0].Data;
        var scale = new WeightValue([5], [0.5f, -1f, 2f, 0.25f, 1.5f]);
        engine.Refit(new Dictionary<string, WeightValue> { ["scale"] = scale });   // the constants left out
        float[] refitted = engine.Run(x, shapes)[0].Data;
        Assert.NotEqual(before, refitted);
        var changed = new Dictionary<string, WeightValue> { ["scale"] = scale, ["one"] = new WeightValue([], [2f]) };
        var refused = Assert.Throws<RefitException>(() => engine.Refit(changed));
        Assert.Contains("'one'", refused.Message, StringComparison.Ordinal);
        Assert.Equal(refitted, engine.Run(x, shapes)[0].Data);
    }

    /// <summary>
    /// A mask of −∞ folded from the graph's constants is taken by the build, and a refit from the model itself takes it
    /// again unchanged without -AllowNonFinite (found by a QA helper's fuzzer: refused as "not finite"); a parameter
    /// given non-finite is still refused.
    /// </summary>
    [Fact]
    public void A_refit_from_the_model_takes_its_mask_of_minus_infinity_unchanged()
    {
        var c = new OperatorCase().Input("x", 2, 4, 4).Output("y");
        c.Model.Opset = 17;
        c.Model.AddNode("Constant", [], ["one"], ("value", TensorValue.Scalar(1f)));
        c.Model.AddInitializer("square", new long[] { 4, 4 }, [2]);
        c.Model.AddNode("Expand", ["one", "square"], ["ones"]);
        c.Model.AddNode("Trilu", ["ones"], ["band"], ("upper", 0L));
        c.Model.AddNode("Constant", [], ["zero"], ("value", TensorValue.Scalar(0f)));
        c.Model.AddNode("Equal", ["band", "zero"], ["masked"]);
        c.Model.AddNode("Constant", [], ["minus_inf"], ("value", TensorValue.Scalar(float.NegativeInfinity)));
        c.Model.AddNode("Where", ["masked", "minus_inf", "zero"], ["mask"]);
        c.Weight("scale", 4);
        c.Model.AddNode("Mul", ["x", "scale"], ["scaled"]);
        c.Model.AddNode("Add", ["scaled", "mask"], ["scores"]);
        c.Model.AddNode("Softmax", ["scores"], ["y"], ("axis", -1L));
        using var dir = new TempDirectory();
        string path = dir.File("mask.onnx");
        c.Model.Save(path);
        using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var model = WeightSources.FromFile(path);
        engine.Refit(model);
        engine.Refit(model.ToDictionary(w => w.Key, w => w.Value with { Immutable = false }));
        var nan = model.ToDictionary(w => w.Key, w => w.Key == "scale" ? new WeightValue([4], [1f, float.NaN, 1f, 1f]) : w.Value);
        Assert.Contains("not finite", Assert.Throws<RefitException>(() => engine.Refit(nan)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mask_computed_from_a_trained_weight_is_refused()
    {
        var m = new OnnxModelBuilder { Opset = 17 };
        m.AddInput("x", OnnxDataType.Float, 5, 5);
        m.AddInitializer("w", ErrorMetrics.RandomValues(1, 25), [5, 5]);
        m.AddNode("Trilu", ["w"], ["band"]);
        m.AddNode("Add", ["x", "band"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("trained weight", refused.Message, StringComparison.Ordinal);
    }
}
