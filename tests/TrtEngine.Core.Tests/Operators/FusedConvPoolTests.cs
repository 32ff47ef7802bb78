using TrtEngine.Core.Conversion;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// A convolution and the pool after it (a stem: SqueezeNet's 3×3 stride 2 then a ceil-mode max pool, ResNet's 7×7
/// stride 2 then a padded max pool) run as one fused layer (forced, so tested whatever the rule would pick) against
/// ONNX Runtime on fresh random inputs; and the fused layer's place in the build and the plan: bit for bit the separate
/// layers' results at any thread count, dynamic shapes, export and import, refit, corrupt plans refused, the rule.
/// </summary>
public sealed class FusedConvPoolTests
{
    private static BuilderConfig Fused(int threads) => new() { OptimizationLevel = 0, Threads = threads, FuseConvPools = true };

    /// <summary>The parts of a case: the convolution's kernel, stride and padding, then the pool's.</summary>
    public sealed record Stem(int Kernel, int Stride, int Pad, string Pool, int PoolKernel, int PoolStride, int PoolPad, bool Ceil = false, bool IncludePad = false);

    private static readonly Stem SqueezeNet = new(3, 2, 0, "MaxPool", 3, 2, 0, Ceil: true);
    private static readonly Stem ResNet = new(7, 2, 3, "MaxPool", 3, 2, 1);

    /// <summary>x [batch, inC, h, w] → Conv (w, b) → Relu → the pool → × 1 (so the pool stays channels-last) → y.</summary>
    private static OperatorCase Case(int batch, int inC, int outC, int h, int w, Stem s, object?[]? dims = null)
    {
        var c = new OperatorCase();
        c.SymbolicInput("x", dims ?? [batch, inC, h, w], [batch, inC, h, w]);
        c.Weight("w", outC, inC, s.Kernel, s.Kernel).Weight("b", outC);
        c.Model.AddNode("Conv", ["x", "w", "b"], ["c"], ("strides", new long[] { s.Stride, s.Stride }), ("pads", new long[] { s.Pad, s.Pad, s.Pad, s.Pad }));
        AddPool(c.Model, "c", s);
        return c.Output("y");
    }

    /// <summary>From the convolution's output <paramref name="conv"/> on: Relu, the pool, × 1.</summary>
    private static void AddPool(OnnxModelBuilder model, string conv, Stem s)
    {
        model.AddNode("Relu", [conv], ["r"]);
        var attributes = new List<(string, object)>
        {
            ("kernel_shape", new long[] { s.PoolKernel, s.PoolKernel }), ("strides", new long[] { s.PoolStride, s.PoolStride }),
            ("pads", new long[] { s.PoolPad, s.PoolPad, s.PoolPad, s.PoolPad }), ("ceil_mode", s.Ceil ? 1L : 0L),
        };
        if (s.Pool == "AveragePool") attributes.Add(("count_include_pad", s.IncludePad ? 1L : 0L));
        model.AddNode(s.Pool, ["r"], ["p"], [.. attributes]);
        model.AddInitializer("one", [1f], [1]);
        model.AddNode("Mul", ["p", "one"], ["y"]);
    }

    private static FusedConvPoolLayer FusedLayer(EnginePlan plan) => Assert.Single(plan.Layers.OfType<FusedConvPoolLayer>());

    private static NetworkDefinition Network(OperatorCase c) => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");

    public static TheoryData<int, int, int, int, int, Stem, int> Cases => new()
    {
        { 1, 3, 16, 37, 37, SqueezeNet, 1 },                                       // ceil mode: the last window hangs over the edge
        { 1, 3, 16, 37, 37, SqueezeNet, 2 },
        { 2, 3, 24, 45, 31, ResNet, 2 },                                           // padded on both sides; batch 2
        { 3, 3, 8, 20, 20, ResNet, 3 },                                            // strips and bands end mid-image
        { 1, 5, 13, 23, 29, new(3, 1, 1, "MaxPool", 2, 2, 0), 2 },                 // channels that fill no vector, stride-1 conv
        { 1, 4, 16, 9, 9, new(3, 1, 1, "AveragePool", 3, 2, 1, IncludePad: true), 2 },
        { 2, 4, 16, 15, 12, new(3, 2, 1, "AveragePool", 3, 1, 1, Ceil: true), 3 }, // overlapping windows, padding left out of the mean
        { 1, 3, 32, 8, 8, new(3, 1, 0, "MaxPool", 2, 2, 0), 2 },                   // one pooled row per strip
        { 1, 3, 64, 113, 113, SqueezeNet, 2 },                                     // SqueezeNet's stem at half size: many bands per strip
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_onnx_runtime(int batch, int inC, int outC, int h, int w, Stem stem, int threads)
    {
        var c = Case(batch, inC, outC, h, w, stem);
        c.AssertMatchesOnnxRuntime(Fused(threads));
        var fused = FusedLayer(c.Plan!);
        Assert.Empty(c.Plan!.Layers.OfType<ConvLayer>());
        Assert.Empty(c.Plan!.Layers.OfType<PoolLayer>());
        Assert.Equal(ActivationKind.Relu, fused.Conv.Activation.Kind);
        // The convolution's output is gone from the plan, so from its memory plan too.
        Assert.DoesNotContain(c.Plan!.Tensors, t => t.Name is "c" or "r");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Equals_the_separate_layers_bit_for_bit_at_any_thread_count(int threads)
    {
        // Every output value is computed by the same kernels in the same order, whatever the bands and strips.
        var network = Network(Case(2, 3, 20, 41, 35, SqueezeNet));
        float[] x = ErrorMetrics.RandomValues(3, 2 * 3 * 41 * 35);
        float[] separate = Run(EngineBuilder.Build(network, Fused(1) with { FuseConvPools = false }), x);
        var engine = EngineBuilder.Build(network, Fused(threads));
        FusedLayer(engine.Plan);
        Assert.Equal(separate, Run(engine, x));
    }

    [Fact]
    public void Contexts_running_at_once_match_the_separate_layers()
    {
        // A context that finds the pool busy runs every strip on its own thread, one after the other: each strip continues
        // from the convolution rows the last one left in the scratch.
        var network = Network(Case(2, 3, 16, 47, 23, ResNet));
        float[] x = ErrorMetrics.RandomValues(7, 2 * 3 * 47 * 23);
        float[] expected = Run(EngineBuilder.Build(network, Fused(1) with { FuseConvPools = false }), x);
        var engine = EngineBuilder.Build(network, Fused(3));
        FusedLayer(engine.Plan);
        EngineChecks.AssertContextsAtOnceMatch(engine, x, expected);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the pool apart formatted its name for every call
    public void A_call_in_steady_state_allocates_nothing(bool fuse)
    {
        var engine = EngineBuilder.Build(Network(Case(2, 3, 16, 40, 40, SqueezeNet)), Fused(2) with { FuseConvPools = fuse });
        Assert.Equal(fuse, engine.Plan.Layers.OfType<FusedConvPoolLayer>().Any());
        EngineChecks.AssertSteadyStateAllocatesNothing(engine, ErrorMetrics.RandomValues(6, 2 * 3 * 40 * 40));
    }

    [Fact]
    public void Dynamic_shapes_inside_the_profile_match_onnx_runtime()
    {
        var c = Case(1, 3, 12, 9, 9, SqueezeNet, ["batch", 3, "h", "w"]);
        byte[] model = c.Model.ToBytes();
        var profile = new ShapeProfile([1, 3, 7, 7], [2, 3, 24, 24], [3, 3, 50, 50]);
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(model, null), "m"), Fused(2) with { Profiles = new Dictionary<string, ShapeProfile> { ["x"] = profile } });
        FusedLayer(engine.Plan);
        ShapeSweep.AssertMatchesOnnxRuntime(engine, model, new[] { new[] { 1, 3, 7, 7 }, [3, 3, 50, 50], [2, 3, 11, 37], [1, 3, 50, 8] }, seed: 41);
    }

    [Fact]
    public void The_plan_round_trip_keeps_the_fused_layer_and_the_convolutions_tactic()
    {
        var engine = EngineBuilder.Build(Network(Case(1, 3, 16, 30, 30, ResNet)), Fused(2));
        var read = Engine.Deserialize(engine.Serialize(includeWeights: true));
        var (before, after) = (FusedLayer(engine.Plan), FusedLayer(read.Plan));
        Assert.Equal(before.Tactic, after.Tactic);
        Assert.Equal(before.Origins, after.Origins);
        Assert.StartsWith(FusedConvPoolLayer.AlgorithmName, after.Tactic);
        Assert.Equal((before.Conv.Name, before.Conv.Tactic, before.Conv.TacticId, before.Conv.Algorithm, before.Conv.Activation),
                     (after.Conv.Name, after.Conv.Tactic, after.Conv.TacticId, after.Conv.Algorithm, after.Conv.Activation));
        Assert.Equal(before.Conv.Strides, after.Conv.Strides);
        Assert.Equal(before.Conv.Pads, after.Conv.Pads);
        Assert.Equal((before.Pool.Name, before.Pool.PoolKind, before.Pool.CeilMode), (after.Pool.Name, after.Pool.PoolKind, after.Pool.CeilMode));
        foreach (var (a, b) in new[] { (before.Pool.Kernel, after.Pool.Kernel), (before.Pool.Strides, after.Pool.Strides), (before.Pool.Pads, after.Pool.Pads) })
            Assert.Equal(a, b);
        float[] x = ErrorMetrics.RandomValues(4, 3 * 30 * 30);
        Assert.Equal(Run(engine, x), Run(read, x));
    }

    [Fact]
    public void Refit_rederives_the_fused_convolutions_weight()
    {
        // Built on v1 (BatchNormalization folded into the convolution, as in ResNet's stem), refitted with v2: equals a
        // build on v2, and ONNX Runtime on v2.
        const int inC = 3, outC = 16;
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("w", ErrorMetrics.RandomValues(seed, outC * inC * 49), [outC, inC, 7, 7]);
            foreach (string p in new[] { "gamma", "beta", "mean" }) m.AddInitializer(p, ErrorMetrics.RandomValues(seed + p.Length, outC), [outC]);
            m.AddInitializer("var", ErrorMetrics.RandomValues(seed + 20, outC).Select(v => 0.5f + Math.Abs(v)).ToArray(), [outC]);
            m.AddNode("Conv", ["x", "w"], ["c0"], ("strides", new long[] { 2, 2 }), ("pads", new long[] { 3, 3, 3, 3 }));
            m.AddNode("BatchNormalization", ["c0", "gamma", "beta", "mean", "var"], ["c"]);
            AddPool(m, "c", ResNet);
        }, Fused(2), [1, inC, 33, 27],
            engine => Assert.Equal(3, engine.Plan.Weights[FusedLayer(engine.Plan).Inputs[1].Index].Recipe.Sources.Length)); // conv weight, γ, var
    }

    public static TheoryData<string> Corruptions => new(["convolution algorithm", "convolution layout", "pool layout", "weight missing", "weight swapped"]);

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_corrupt_fused_layer_is_refused(string corruption)
    {
        var engine = EngineBuilder.Build(Network(Case(1, 3, 16, 19, 19, SqueezeNet)), Fused(2));
        var fused = FusedLayer(engine.Plan);
        switch (corruption)
        {
            case "convolution algorithm": fused.Conv.Algorithm = ConvAlgorithm.PointwiseGemm; break;
            case "convolution layout": fused.Conv.ChannelsLast = false; break;
            case "pool layout": fused.Pool.ChannelsLast = false; break;
            case "weight missing": fused.Inputs[1] = ValueRef.None; break;
            case "weight swapped": fused.Inputs[1] = fused.Inputs[2]; break;
        }
        var error = Assert.Throws<PlanFormatException>(() => Engine.Deserialize(engine.Serialize(includeWeights: true)));
        Assert.Contains("inconsistent", error.Message);
    }

    [Fact]
    public void A_convolution_whose_output_is_read_elsewhere_stays_separate()
    {
        var c = Case(1, 3, 16, 19, 19, SqueezeNet);
        c.Output("c");
        var engine = EngineBuilder.Build(Network(c), Fused(2));
        Assert.Empty(engine.Plan.Layers.OfType<FusedConvPoolLayer>());
        Assert.Single(engine.Plan.Layers.OfType<ConvLayer>());
    }

    [Theory]
    [InlineData(115, 64, true)]   // 64 channels of 115×115 (3.4 MB) are larger than L2
    [InlineData(33, 16, false)]   // 16 channels of 33×33 (70 KB): the separate layers keep it in cache
    public void By_default_a_convolution_output_larger_than_l2_fuses_and_the_layer_info_shows_it(int size, int outC, bool fuses)
    {
        using var dir = new TempDirectory();
        Case(1, 3, outC, size, size, new(3, 1, 1, "MaxPool", 3, 2, 0, Ceil: true)).Model.Save(dir.File("m.onnx"));
        var engine = EngineConverter.Convert(dir.File("m.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = 2 });
        Assert.Equal(fuses, engine.Native.Plan.Layers.OfType<FusedConvPoolLayer>().Any());
        if (!fuses) return;
        var layer = Assert.Single(TrtEngineInfo.From(engine).Layers, l => l.Algorithm == FusedConvPoolLayer.AlgorithmName);
        Assert.Equal("Fused convolution and pool (conv nhwc im2col gemm 3x3/1 → Max pool 3x3/2) + Relu", layer.Type);
        Assert.Equal(FusedLayer(engine.Native.Plan).Tactic, layer.Tactic);
        Assert.Equal(3, layer.Origins.Length); // the convolution, the Relu and the pool
    }

    private static float[] Run(Engine engine, float[] x) => RefitComparison.Run(engine, x);
}
