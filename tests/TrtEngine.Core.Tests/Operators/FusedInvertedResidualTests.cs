using TrtEngine.Core.Conversion;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// Inverted-residual blocks (expand 1×1 + Clip → depthwise 3×3 + Clip → project 1×1, + residual) run as one fused layer
/// (forced, so tested whatever timing would pick) against ONNX Runtime, relative L2 ≤ 1e-5 on fresh random inputs; and
/// the fused layer's place in the build and the plan: bit for bit the separate layers' results at any thread count,
/// dynamic shapes, export and import, refit, corrupt plans refused, the timed choice and the rule.
/// </summary>
public sealed class FusedInvertedResidualTests
{
    private static BuilderConfig Fused(int threads) => new() { OptimizationLevel = 0, Threads = threads, FuseInvertedResiduals = true };

    /// <summary>x [batch, inC, h, w] → the block → y (× 1, so the block stays channels-last up to its end).</summary>
    private static OperatorCase Block(int batch, int inC, int hidden, int outC, int h, int w, int stride, bool residual, object?[]? dims = null)
    {
        var c = new OperatorCase();
        c.SymbolicInput("x", dims ?? [batch, inC, h, w], [batch, inC, h, w]);
        c.Weight("we", hidden, inC, 1, 1).Weight("be", hidden).Weight("wd", hidden, 1, 3, 3).Weight("bd", hidden).Weight("wp", outC, hidden, 1, 1).Weight("bp", outC);
        c.Model.AddNode("Conv", ["x", "we", "be"], ["e"]);
        AddBlock(c.Model, "x", "e", hidden, stride, residual);
        return c.Output("y");
    }

    /// <summary>From the expand convolution's output <paramref name="expanded"/> on: Clip, depthwise (weights wd, bd), Clip, project (wp, bp), + x, × 1.</summary>
    private static void AddBlock(OnnxModelBuilder model, string x, string expanded, int hidden, int stride, bool residual)
    {
        model.Opset = 10; // Clip with min and max attributes
        model.AddNode("Clip", [expanded], ["e6"], ("min", 0f), ("max", 6f));
        model.AddNode("Conv", ["e6", "wd", "bd"], ["d"], ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { stride, stride }), ("group", (long)hidden));
        model.AddNode("Clip", ["d"], ["d6"], ("min", 0f), ("max", 6f));
        model.AddNode("Conv", ["d6", "wp", "bp"], ["p"]);
        if (residual) model.AddNode("Add", ["p", x], ["r"]);
        model.AddInitializer("one", [1f], [1]);
        model.AddNode("Mul", [residual ? "r" : "p", "one"], ["y"]);
    }

    /// <summary>
    /// x [batch, 3, h, w] → a stem (3×3, padded, <paramref name="stride"/>) → MobileNetV2's first block, which has no
    /// expansion: depthwise → project (× 1). The stem takes the expansion's place in the fused layer.
    /// </summary>
    private static OperatorCase StemBlock(int batch, int hidden, int outC, int h, int w, int stride)
    {
        var c = new OperatorCase();
        c.Input("x", batch, 3, h, w);
        c.Weight("we", hidden, 3, 3, 3).Weight("be", hidden).Weight("wd", hidden, 1, 3, 3).Weight("bd", hidden).Weight("wp", outC, hidden, 1, 1).Weight("bp", outC);
        c.Model.AddNode("Conv", ["x", "we", "be"], ["e"], ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { stride, stride }));
        AddBlock(c.Model, "x", "e", hidden, 1, false);
        return c.Output("y");
    }

    private static FusedInvertedResidualLayer FusedLayer(EnginePlan plan) => Assert.Single(plan.Layers.OfType<FusedInvertedResidualLayer>());

    private static NetworkDefinition Network(OperatorCase c) => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");

    [Theory]
    [InlineData(1, 8, 48, 8, 7, 7, 1, true, 1)]        // the whole image in one band
    [InlineData(1, 8, 48, 8, 7, 7, 1, true, 2)]
    [InlineData(3, 5, 27, 11, 13, 13, 2, false, 2)]    // channels that fill no vector; batch 3
    [InlineData(1, 12, 36, 12, 15, 9, 1, true, 3)]     // 15×9: strips and bands end mid-image
    [InlineData(3, 10, 30, 14, 15, 9, 2, false, 3)]
    [InlineData(1, 4, 12, 4, 2, 3, 2, false, 2)]       // one output row
    [InlineData(1, 16, 96, 24, 56, 56, 2, false, 2)]   // MobileNetV2's first expanding block: many bands per strip
    [InlineData(2, 24, 144, 24, 28, 28, 1, true, 3)]
    public void Matches_onnx_runtime(int batch, int inC, int hidden, int outC, int h, int w, int stride, bool residual, int threads)
    {
        var c = Block(batch, inC, hidden, outC, h, w, stride, residual);
        c.AssertMatchesOnnxRuntime(Fused(threads));
        var fused = FusedLayer(c.Plan!);
        Assert.Empty(c.Plan!.Layers.OfType<ConvLayer>());
        Assert.Equal(residual, !fused.Residual.IsNone);
        // The expanded and depthwise tensors are gone from the plan, so from its memory plan too.
        Assert.DoesNotContain(c.Plan!.Tensors, t => t.Name is "e6" or "d6");
    }

    [Theory]
    [InlineData(1, 16, 8, 33, 33, 2, 2)]    // MobileNetV2's stem and first block, small
    [InlineData(2, 32, 16, 64, 48, 2, 3)]   // many bands per strip; batch 2
    [InlineData(1, 12, 20, 17, 23, 1, 1)]   // a stride-1 stem; channels that fill no vector
    public void A_stem_fuses_in_the_place_of_the_expansion_and_matches_onnx_runtime(int batch, int hidden, int outC, int h, int w, int stride, int threads)
    {
        var c = StemBlock(batch, hidden, outC, h, w, stride);
        c.AssertMatchesOnnxRuntime(Fused(threads));
        var fused = FusedLayer(c.Plan!);
        Assert.True(fused.Unfolds);
        Assert.Equal(ConvAlgorithm.Im2ColGemm, fused.Expand.Algorithm);
        Assert.Empty(c.Plan!.Layers.OfType<ConvLayer>());
        Assert.DoesNotContain(c.Plan!.Tensors, t => t.Name is "e6" or "d6");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_fused_stem_equals_the_separate_layers_bit_for_bit(int threads)
    {
        var network = Network(StemBlock(2, 24, 16, 45, 37, 2));
        float[] x = ErrorMetrics.RandomValues(5, 2 * 3 * 45 * 37);
        float[] separate = Run(EngineBuilder.Build(network, Fused(1) with { FuseInvertedResiduals = false }), x);
        var engine = EngineBuilder.Build(network, Fused(threads));
        Assert.True(FusedLayer(engine.Plan).Unfolds);
        Assert.Equal(separate, Run(engine, x));
        Assert.Equal(separate, Run(Engine.Deserialize(engine.Serialize(includeWeights: true)), x));
        EngineChecks.AssertSteadyStateAllocatesNothing(engine, x);
    }

    [Fact]
    public void A_fused_stem_that_claims_to_be_1x1_is_refused()
    {
        var engine = EngineBuilder.Build(Network(StemBlock(1, 16, 8, 19, 19, 2)), Fused(2));
        FusedLayer(engine.Plan).Expand.Algorithm = ConvAlgorithm.PointwiseGemm; // its unfolded rows would be read as 3 channels
        var error = Assert.Throws<PlanFormatException>(() => Engine.Deserialize(engine.Serialize(includeWeights: true)));
        Assert.Contains("inconsistent", error.Message);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public void Equals_the_separate_layers_bit_for_bit_at_any_thread_count(int threads, int stride)
    {
        // Every output value is computed by the same kernels in the same order, whatever the bands and strips.
        var c = Block(2, 12, 40, stride == 1 ? 12 : 20, 17, 11, stride, stride == 1);
        var network = Network(c);
        float[] x = ErrorMetrics.RandomValues(3, 2 * 12 * 17 * 11);
        float[] separate = Run(EngineBuilder.Build(network, Fused(1) with { FuseInvertedResiduals = false }), x);
        var engine = EngineBuilder.Build(network, Fused(threads));
        FusedLayer(engine.Plan);
        Assert.Equal(separate, Run(engine, x));
    }

    [Fact]
    public void Contexts_running_at_once_match_the_separate_layers()
    {
        // A context that finds the pool busy runs every strip on its own thread, one after the other: each strip continues
        // from the expanded rows the last one left in the scratch.
        var c = Block(2, 12, 40, 12, 23, 13, 1, true);
        var network = Network(c);
        float[] x = ErrorMetrics.RandomValues(7, 2 * 12 * 23 * 13);
        float[] expected = Run(EngineBuilder.Build(network, Fused(1) with { FuseInvertedResiduals = false }), x);
        var engine = EngineBuilder.Build(network, Fused(3));
        FusedLayer(engine.Plan);
        EngineChecks.AssertContextsAtOnceMatch(engine, x, expected);
    }

    [Fact]
    public void A_call_in_steady_state_allocates_nothing()
    {
        // Each thread's bands live in the context's workspace; the job and its per-thread GEMM states are made once.
        var engine = EngineBuilder.Build(Network(Block(2, 16, 64, 16, 20, 20, 1, true)), Fused(2));
        FusedLayer(engine.Plan);
        EngineChecks.AssertSteadyStateAllocatesNothing(engine, ErrorMetrics.RandomValues(6, 2 * 16 * 20 * 20));
    }

    [Fact]
    public void Dynamic_shapes_inside_the_profile_match_onnx_runtime()
    {
        var c = Block(1, 9, 33, 9, 5, 5, 1, true, ["batch", 9, "h", "w"]);
        byte[] model = c.Model.ToBytes();
        var profile = new ShapeProfile([1, 9, 3, 3], [2, 9, 12, 12], [3, 9, 24, 24]);
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(model, null), "m"), Fused(2) with { Profiles = new Dictionary<string, ShapeProfile> { ["x"] = profile } });
        FusedLayer(engine.Plan);
        ShapeSweep.AssertMatchesOnnxRuntime(engine, model, new[] { new[] { 1, 9, 3, 3 }, [3, 9, 24, 24], [2, 9, 11, 17], [1, 9, 24, 5] }, seed: 40);
    }

    [Fact]
    public void The_plan_round_trip_keeps_the_fused_layer_and_each_convolutions_tactic()
    {
        var c = Block(1, 16, 64, 16, 14, 14, 1, true);
        var engine = EngineBuilder.Build(Network(c), Fused(2));
        var read = Engine.Deserialize(engine.Serialize(includeWeights: true));
        var (before, after) = (FusedLayer(engine.Plan), FusedLayer(read.Plan));
        Assert.Equal(before.Tactic, after.Tactic);
        Assert.StartsWith(FusedInvertedResidualLayer.AlgorithmName, after.Tactic);
        Assert.Equal(before.Origins, after.Origins);
        foreach (var (a, b) in new[] { (before.Expand, after.Expand), (before.Depthwise, after.Depthwise), (before.Project!, after.Project!) })
        {
            Assert.Equal((a.Name, a.Tactic, a.TacticId, a.Algorithm, a.Activation), (b.Name, b.Tactic, b.TacticId, b.Algorithm, b.Activation));
            Assert.Equal(a.Strides, b.Strides);
        }
        float[] x = ErrorMetrics.RandomValues(4, 16 * 14 * 14);
        Assert.Equal(Run(engine, x), Run(read, x));
    }

    [Fact]
    public void Refit_rederives_every_weight_of_the_fused_block()
    {
        // Built on v1 (BatchNormalization folded into the expand convolution), refitted with v2: equals a build on v2, and ONNX Runtime on v2.
        const int inC = 10, hidden = 36, outC = 10;
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("we", ErrorMetrics.RandomValues(seed, hidden * inC), [hidden, inC, 1, 1]);
            foreach (string p in new[] { "gamma", "beta", "mean" }) m.AddInitializer(p, ErrorMetrics.RandomValues(seed + p.Length, hidden), [hidden]);
            m.AddInitializer("var", ErrorMetrics.RandomValues(seed + 20, hidden).Select(v => 0.5f + Math.Abs(v)).ToArray(), [hidden]);
            m.AddInitializer("wd", ErrorMetrics.RandomValues(seed + 30, hidden * 9), [hidden, 1, 3, 3]);
            m.AddInitializer("bd", ErrorMetrics.RandomValues(seed + 31, hidden), [hidden]);
            m.AddInitializer("wp", ErrorMetrics.RandomValues(seed + 32, outC * hidden), [outC, hidden, 1, 1]);
            m.AddInitializer("bp", ErrorMetrics.RandomValues(seed + 33, outC), [outC]);
            m.AddNode("Conv", ["x", "we"], ["c"]);
            m.AddNode("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"]);
            AddBlock(m, "x", "n", hidden, 1, false);
        }, Fused(2), [1, inC, 15, 13],
            engine => Assert.Equal(3, engine.Plan.Weights[FusedLayer(engine.Plan).Inputs[1].Index].Recipe.Sources.Length)); // conv weight, γ, var
    }

    public static TheoryData<string> Corruptions => new(["depthwise algorithm", "expand tactic", "project stride", "weight swapped", "weight missing"]);

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_corrupt_fused_layer_is_refused(string corruption)
    {
        var c = Block(1, 8, 24, 8, 9, 9, 1, true);
        var engine = EngineBuilder.Build(Network(c), Fused(2));
        var fused = FusedLayer(engine.Plan);
        switch (corruption)
        {
            case "depthwise algorithm": fused.Depthwise.Algorithm = ConvAlgorithm.PointwiseGemm; break;
            case "expand tactic": fused.Expand.TacticId = (fused.Expand.TacticId + 1) % Native.Kernels.GemmKernels.Tactics.Count; break;
            case "weight swapped": fused.Inputs[3] = fused.Inputs[5]; break;
            case "weight missing": fused.Inputs[1] = ValueRef.None; break;
            case "project stride": fused.Project!.Strides[0] = 2; break; // no longer a 1×1 GEMM
        }
        var error = Assert.Throws<PlanFormatException>(() => Engine.Deserialize(engine.Serialize(includeWeights: true)));
        Assert.Contains("inconsistent", error.Message);
    }

    /// <summary>
    /// A squeeze-excitation gate (computed from x by convolutions) scaling the expansion's input or the projection's,
    /// which the convolution then folds as its channel scale. Found by a differential fuzzer: the scaled expansion was
    /// taken into the chain, whose layer carries no scale, and the build failed checking its shapes; the fused layer
    /// would have dropped a scaled projection's gate. Those convolutions stay out of the chain now.
    /// </summary>
    [Theory]
    [InlineData("x", 1)]
    [InlineData("x", 3)]
    [InlineData("d6", 1)]
    public void A_convolution_scaled_by_a_gate_stays_out_of_the_chain_and_matches_onnx_runtime(string scaled, int batch)
    {
        var c = new OperatorCase();
        c.Input("x", batch, 8, 14, 14);
        // The gate has the channels of the tensor it scales: x's 8, or the depthwise output's 16.
        c.Weight("wr", 2, 8, 1, 1).Weight("wg", scaled == "x" ? 8 : 16, 2, 1, 1).Weight("we", 16, 8, 1, 1).Weight("be", 16).Weight("wd", 16, 1, 3, 3).Weight("bd", 16)
         .Weight("wp", 8, 16, 1, 1).Weight("bp", 8).Weight("wn", 12, 8, 1, 1);
        var m = c.Model;
        m.AddNode("GlobalAveragePool", ["x"], ["pooled"]);
        m.AddNode("Conv", ["pooled", "wr"], ["reduced"]);
        m.AddNode("Relu", ["reduced"], ["relu"]);
        m.AddNode("Conv", ["relu", "wg"], ["logits"]);
        m.AddNode("Sigmoid", ["logits"], ["gate"]);
        if (scaled == "x") m.AddNode("Mul", ["x", "gate"], ["xs"]);
        m.AddNode("Conv", [scaled == "x" ? "xs" : "x", "we", "be"], ["e"]);
        m.Opset = 10;
        m.AddNode("Clip", ["e"], ["e6"], ("min", 0f), ("max", 6f));
        m.AddNode("Conv", ["e6", "wd", "bd"], ["d"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 16L));
        m.AddNode("Clip", ["d"], ["d6"], ("min", 0f), ("max", 6f));
        if (scaled == "d6") m.AddNode("Mul", ["d6", "gate"], ["ds"]);
        m.AddNode("Conv", [scaled == "d6" ? "ds" : "d6", "wp", "bp"], ["p"]);
        // A 1×1 convolution after the projection keeps the block channels-last to its end.
        m.AddNode("Conv", ["p", "wn"], ["y"]);
        c.Output("y");

        c.AssertMatchesOnnxRuntime(Fused(2));
        Assert.DoesNotContain(c.Plan!.Layers.OfType<FusedInvertedResidualLayer>(), l => l.Project is not null);
    }

    [Fact]
    public void A_chain_whose_intermediate_is_a_network_output_stays_separate()
    {
        var c = Block(1, 8, 24, 8, 9, 9, 1, true);
        c.Output("d6");
        var engine = EngineBuilder.Build(Network(c), Fused(2));
        Assert.Empty(engine.Plan.Layers.OfType<FusedInvertedResidualLayer>());
        Assert.Equal(3, engine.Plan.Layers.OfType<ConvLayer>().Count());
    }

    [Fact]
    public void Timing_chooses_fused_or_separate_and_the_cache_remembers_which()
    {
        var network = Network(Block(1, 24, 144, 24, 28, 28, 1, true));
        var cache = new TimingCache();
        var engine = EngineBuilder.Build(network, new BuilderConfig { OptimizationLevel = 1, TimingCache = cache });
        using var dir = new TempDirectory();
        cache.Save(dir.File("timing.cache"));
        string[] entry = Assert.Single(File.ReadAllLines(dir.File("timing.cache")), line => line.StartsWith("inverted residual ", StringComparison.Ordinal)).Split('\t');
        Assert.Contains(entry[1], new[] { "fused", "separate" });
        bool fused = entry[1] == "fused";
        Assert.Equal(fused, engine.Plan.Layers.OfType<FusedInvertedResidualLayer>().Any());
        if (fused) Assert.True(FusedLayer(engine.Plan).TacticMicroseconds > 0);

        // A rebuild takes the cached choice without timing, even where the cache says the other.
        cache.Set(entry[0], fused ? "separate" : "fused", 1.5);
        var rebuilt = EngineBuilder.Build(network, new BuilderConfig { OptimizationLevel = 1, TimingCache = cache });
        Assert.Equal(!fused, rebuilt.Plan.Layers.OfType<FusedInvertedResidualLayer>().Any());
        if (!fused) Assert.Equal(1.5, FusedLayer(rebuilt.Plan).TacticMicroseconds);
    }

    [Theory]
    [InlineData(64, 96, 1, true)]   // one thread: 96 expanded channels of 64×64 (1.5 MB) are larger than L2
    [InlineData(7, 48, 1, false)]   // one thread, 48 channels of 7×7: the separate layers run as fast
    [InlineData(7, 48, 2, true)]    // two threads: one dispatch instead of three
    public void Level_0_fuses_by_the_rule_and_the_layer_info_shows_it(int size, int hidden, int threads, bool fuses)
    {
        using var dir = new TempDirectory();
        Block(1, 16, hidden, 16, size, size, 1, true).Model.Save(dir.File("m.onnx"));
        var engine = EngineConverter.Convert(dir.File("m.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = threads });
        Assert.Equal(fuses, engine.Native.Plan.Layers.OfType<FusedInvertedResidualLayer>().Any());
        if (!fuses) return;
        var layer = Assert.Single(TrtEngineInfo.From(engine).Layers, l => l.Algorithm == FusedInvertedResidualLayer.AlgorithmName);
        Assert.Equal("Fused inverted residual (nhwc 1x1 gemm → nhwc depthwise 3x3/1 → nhwc 1x1 gemm) + residual", layer.Type);
        Assert.Equal(FusedLayer(engine.Native.Plan).Tactic, layer.Tactic);
        Assert.Equal(6, layer.Origins.Length); // three convolutions, two Clips and the Add
    }

    private static float[] Run(Engine engine, float[] x) => RefitComparison.Run(engine, x);
}
