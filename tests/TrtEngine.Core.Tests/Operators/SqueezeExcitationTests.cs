using TrtEngine.Core.Conversion;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Kernels;
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
/// Squeeze-excitation blocks (EfficientNet's: [expand 1×1 + SiLU →] depthwise + SiLU = D → GlobalAveragePool → 1×1 +
/// SiLU → 1×1 + Sigmoid = s → Mul(D, s) → project 1×1, + residual) against ONNX Runtime, relative L2 ≤ 1e-5 on fresh
/// random inputs: the Mul folded into the projection, and expand → depthwise run as one fused layer without the
/// projection (both forced, so tested whatever the rule or timing picks); against the same engine with the Mul left
/// separate or the layers unfused; and their place in the build and the plan: thread counts, dynamic shapes, export and
/// import, refit, corrupt plans refused, allocation, and the rule.
/// </summary>
public sealed class SqueezeExcitationTests
{
    private static BuilderConfig Folded(int threads) => new() { OptimizationLevel = 0, Threads = threads, FoldChannelScales = true, FuseInvertedResiduals = false };

    private static BuilderConfig Fused(int threads) => Folded(threads) with { FuseInvertedResiduals = true };

    /// <summary>
    /// x [batch, c, h, w] → the block → y (× 1, so the block stays channels-last up to its end); with an expansion, x has
    /// <paramref name="inC"/> channels and a 1×1 convolution + SiLU expands them to <paramref name="c"/>.
    /// </summary>
    private static OperatorCase Block(int batch, int c, int outC, int h, int w, int stride, bool residual, object?[]? dims = null, bool scaleFirst = false, int inC = 0,
        bool reduceMean = false)
    {
        var op = new OperatorCase();
        int xc = inC > 0 ? inC : c;
        op.SymbolicInput("x", dims ?? [batch, xc, h, w], [batch, xc, h, w]);
        if (inC > 0) op.Weight("wx", c, inC, 1, 1).Weight("bx", c);
        op.Weight("wd", c, 1, 3, 3).Weight("bd", c).Weight("wr", Math.Max(1, c / 4), c, 1, 1).Weight("br", Math.Max(1, c / 4))
          .Weight("we", c, Math.Max(1, c / 4), 1, 1).Weight("be", c).Weight("wp", outC, c, 1, 1).Weight("bp", outC);
        AddBlock(op.Model, "x", inC > 0, c, stride, residual, scaleFirst, reduceMean);
        return op.Output("y");
    }

    /// <summary>
    /// The block on <paramref name="x"/> (expanded first by the weights wx, bx if <paramref name="expand"/>) with
    /// <paramref name="channels"/> channels in the depthwise, the other weights named as in <see cref="Block"/>; the
    /// squeeze is a GlobalAveragePool, or a ReduceMean over H and W as some exporters write it.
    /// </summary>
    private static void AddBlock(OnnxModelBuilder m, string x, bool expand, int channels, int stride, bool residual, bool scaleFirst = false, bool reduceMean = false)
    {
        if (expand)
        {
            m.AddNode("Conv", [x, "wx", "bx"], ["xc"]);
            Silu(m, "xc", "e");
        }
        m.AddNode("Conv", [expand ? "e" : x, "wd", "bd"], ["dc"], ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { stride, stride }), ("group", (long)channels));
        Silu(m, "dc", "d");
        if (reduceMean) m.AddNode("ReduceMean", ["d"], ["pool"], ("axes", new long[] { 2, 3 }), ("keepdims", 1L));
        else m.AddNode("GlobalAveragePool", ["d"], ["pool"]);
        m.AddNode("Conv", ["pool", "wr", "br"], ["rc"]);
        Silu(m, "rc", "r");
        m.AddNode("Conv", ["r", "we", "be"], ["ec"]);
        m.AddNode("Sigmoid", ["ec"], ["s"]);
        m.AddNode("Mul", scaleFirst ? ["s", "d"] : ["d", "s"], ["scaled"]);
        m.AddNode("Conv", ["scaled", "wp", "bp"], ["p"]);
        if (residual) m.AddNode("Add", ["p", x], ["sum"]);
        m.AddInitializer("one", [1f], [1]);
        m.AddNode("Mul", [residual ? "sum" : "p", "one"], ["y"]);
    }

    private static void Silu(OnnxModelBuilder m, string x, string y)
    {
        m.AddNode("Sigmoid", [x], [y + "_sig"]);
        m.AddNode("Mul", [x, y + "_sig"], [y]);
    }

    private static ConvLayer ScaledConv(EnginePlan plan) => Assert.Single(plan.Layers.OfType<ConvLayer>(), c => !c.ChannelScale.IsNone);

    private static FusedInvertedResidualLayer FusedLayer(EnginePlan plan) => Assert.Single(plan.Layers.OfType<FusedInvertedResidualLayer>(), l => l.Project is null);

    private static NetworkDefinition Network(OperatorCase c) => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");

    [Theory]
    [InlineData(1, 16, 16, 14, 14, 1, true, 1, false)]
    [InlineData(1, 16, 16, 14, 14, 1, true, 2, true)]    // Mul(s, D)
    [InlineData(3, 20, 12, 13, 11, 2, false, 2, false)]  // batch 3, each image its own scale; odd sizes
    [InlineData(2, 36, 24, 15, 9, 1, false, 3, false)]
    [InlineData(1, 7, 5, 5, 3, 2, false, 3, false)]      // channels that fill no vector
    [InlineData(1, 32, 16, 56, 56, 1, false, 2, false)]  // many row blocks
    public void Matches_onnx_runtime(int batch, int c, int outC, int h, int w, int stride, bool residual, int threads, bool scaleFirst)
    {
        var op = Block(batch, c, outC, h, w, stride, residual, scaleFirst: scaleFirst);
        op.AssertMatchesOnnxRuntime(Folded(threads));
        var conv = ScaledConv(op.Plan!);
        Assert.Equal(residual, !conv.Residual.IsNone);
        // The scaled tensor is gone: no Mul of D and s is left, only the final × 1.
        Assert.Single(op.Plan!.Layers.OfType<ElementwiseLayer>());
        Assert.DoesNotContain(op.Plan!.Tensors, t => t.Name == "scaled");
    }

    [Theory]
    [InlineData(1, 8, 48, 8, 14, 14, 1, true, 1, true)]
    [InlineData(1, 8, 48, 8, 14, 14, 1, true, 2, false)]   // the Mul left separate: it reads the fused layer's output
    [InlineData(3, 5, 27, 11, 13, 13, 2, false, 2, true)]  // batch 3, channels that fill no vector
    [InlineData(2, 12, 36, 12, 15, 9, 1, true, 3, true)]   // strips and bands end mid-image
    [InlineData(1, 4, 12, 4, 2, 3, 2, false, 2, true)]     // one output row
    [InlineData(1, 16, 96, 24, 56, 56, 2, false, 2, true)] // EfficientNet-B0's second block at half size: many bands
    [InlineData(2, 8, 32, 8, 9, 9, 1, true, 2, true, true)] // the squeeze a ReduceMean
    public void Expand_and_depthwise_fused_without_the_projection_match_onnx_runtime(int batch, int inC, int c, int outC, int h, int w, int stride,
        bool residual, int threads, bool fold, bool reduceMean = false)
    {
        var op = Block(batch, c, outC, h, w, stride, residual, inC: inC, reduceMean: reduceMean);
        op.AssertMatchesOnnxRuntime(Fused(threads) with { FoldChannelScales = fold });
        var fused = FusedLayer(op.Plan!);
        Assert.True(fused.Residual.IsNone && fused.Inputs[5].IsNone);
        // The expanded tensor is gone; the depthwise output is the fused layer's, read by the pool and the projection (or Mul).
        Assert.DoesNotContain(op.Plan!.Tensors, t => t.Name == "e");
        Assert.Equal("d", op.Plan!.Tensors[fused.Output].Name);
        Assert.Equal(fold, op.Plan!.Layers.OfType<ConvLayer>().Any(l => !l.ChannelScale.IsNone));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public void The_fused_layer_equals_the_separate_layers_bit_for_bit_at_any_thread_count(int threads, int stride)
    {
        // Every value is computed by the same kernels in the same order, whatever the bands and strips.
        var network = Network(Block(2, 40, 12, 17, 11, stride, stride == 1, inC: 12));
        float[] x = ErrorMetrics.RandomValues(3, 2 * 12 * 17 * 11);
        float[] separate = Run(EngineBuilder.Build(network, Folded(1)), x);
        var engine = EngineBuilder.Build(network, Fused(threads));
        FusedLayer(engine.Plan);
        Assert.Equal(separate, Run(engine, x));
    }

    public static TheoryData<string> TacticNames => new(GemmKernels.Tactics.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(TacticNames))]
    public void Every_gemm_tactic_scales_its_panels_right(string tactic)
    {
        // 300 channels: the K-blocked tactics scale their panels in two blocks of K; 40 outputs leave an edge panel for each width.
        var op = Block(2, 300, 40, 6, 5, 1, false);
        op.AssertMatchesOnnxRuntime(Folded(2) with { ForceTactic = tactic });
        Assert.Equal(tactic, ScaledConv(op.Plan!).Tactic);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Is_the_same_at_any_thread_count_and_close_to_the_separate_mul(int threads)
    {
        var network = Network(Block(3, 24, 24, 17, 11, 1, true));
        float[] x = ErrorMetrics.RandomValues(3, 3 * 24 * 17 * 11);
        float[] one = Run(EngineBuilder.Build(network, Folded(1)), x);
        var engine = EngineBuilder.Build(network, Folded(threads));
        ScaledConv(engine.Plan);
        // Every output value is computed by the same kernels in the same order, whatever the threads share.
        Assert.Equal(one, Run(engine, x));
        // Scaling the weight instead of the input rounds differently, by no more than float rounding.
        float[] separate = Run(EngineBuilder.Build(network, Folded(threads) with { FoldChannelScales = false }), x);
        Assert.True(ErrorMetrics.RelativeL2(one, separate) <= 1e-6, $"folded vs separate: relative L2 {ErrorMetrics.RelativeL2(one, separate):E2}");
    }

    [Fact]
    public void A_scale_shared_by_every_image_is_broadcast()
    {
        // s [1, C, 1, 1] from an input of its own, applied to each of 3 images.
        var op = new OperatorCase();
        op.Input("x", 3, 12, 9, 7).Input("g", 1, 12, 1, 1).Weight("wp", 10, 12, 1, 1).Weight("bp", 10).Weight("wd", 12, 1, 3, 3);
        op.Model.AddNode("Conv", ["x", "wd"], ["d"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 12L));
        op.Model.AddNode("Sigmoid", ["g"], ["s"]);
        op.Model.AddNode("Mul", ["d", "s"], ["scaled"]);
        op.Model.AddNode("Conv", ["scaled", "wp", "bp"], ["p"]);
        op.LeaveRegion("p").AssertMatchesOnnxRuntime(Folded(2));
        ScaledConv(op.Plan!);
    }

    [Theory]
    [InlineData(1, 3)] // the image is the operand the Mul broadcasts: folded, the run failed on its shapes
    [InlineData(3, 1)]
    public void A_scale_from_another_input_whose_dynamic_batch_may_differ_stays_separate(int imageBatch, int scaleBatch)
    {
        // Each input has its own dynamic batch ('n', 'm'); the gate is a squeeze of the second input.
        var op = new OperatorCase();
        op.SymbolicInput("x", ["n", 12, 9, 7], [imageBatch, 12, 9, 7]).SymbolicInput("g", ["m", 12, 5, 5], [scaleBatch, 12, 5, 5])
          .Weight("wd", 12, 1, 3, 3).Weight("wp", 10, 12, 1, 1).Weight("bp", 10);
        op.Model.AddNode("Conv", ["x", "wd"], ["d"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 12L));
        op.Model.AddNode("GlobalAveragePool", ["g"], ["pool"]);
        op.Model.AddNode("Sigmoid", ["pool"], ["s"]);
        op.Model.AddNode("Mul", ["d", "s"], ["scaled"]);
        op.Model.AddNode("Conv", ["scaled", "wp", "bp"], ["p"]);
        op.LeaveRegion("p").AssertMatchesOnnxRuntime(Folded(2));
        Assert.DoesNotContain(op.Plan!.Layers.OfType<ConvLayer>(), c => !c.ChannelScale.IsNone);
    }

    [Theory]
    [InlineData(true)] // the image is the first one sliced from the input, the gate squeezes all: the run failed on its shapes
    [InlineData(false)] // the gate squeezes the first image alone and scales all: a scale for all images, folded
    public void A_scale_and_an_image_of_one_input_whose_batches_differ_at_run_time(bool sliceImage)
    {
        // One input, so the network's dims agree ([?, 12, 9, 7] and [?, 12, 1, 1]); at batch 3 one operand has 1 image.
        var op = new OperatorCase();
        op.SymbolicInput("x", ["n", 12, 9, 7], [3, 12, 9, 7]).Weight("wd", 12, 1, 3, 3).Weight("wp", 10, 12, 1, 1).Weight("bp", 10);
        op.Model.AddInitializer("zero", new long[] { 0 }, [1]);
        op.Model.AddInitializer("one_image", new long[] { 1 }, [1]);
        op.Model.AddNode("Conv", ["x", "wd"], ["d"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 12L));
        op.Model.AddNode("Slice", ["d", "zero", "one_image", "zero"], ["first"]);
        op.Model.AddNode("GlobalAveragePool", [sliceImage ? "d" : "first"], ["pool"]);
        op.Model.AddNode("Sigmoid", ["pool"], ["s"]);
        op.Model.AddNode("Mul", [sliceImage ? "first" : "d", "s"], ["scaled"]);
        op.Model.AddNode("Conv", ["scaled", "wp", "bp"], ["p"]);
        op.LeaveRegion("p").AssertMatchesOnnxRuntime(Folded(2));
        if (sliceImage) Assert.DoesNotContain(op.Plan!.Layers.OfType<ConvLayer>(), c => !c.ChannelScale.IsNone);
        else ScaledConv(op.Plan!);
    }

    [Fact]
    public void A_call_in_steady_state_allocates_nothing()
    {
        var engine = EngineBuilder.Build(Network(Block(2, 32, 16, 20, 20, 1, false, inC: 8)), Fused(2));
        ScaledConv(engine.Plan);
        FusedLayer(engine.Plan);
        EngineChecks.AssertSteadyStateAllocatesNothing(engine, ErrorMetrics.RandomValues(6, 2 * 8 * 20 * 20));
    }

    [Fact]
    public void Dynamic_shapes_inside_the_profile_match_onnx_runtime()
    {
        // A dynamic batch (dynamic H and W keep the Mul, and so its operands, NCHW: the layout pass runs a same-shape
        // elementwise layer channels-last only where H and W are known).
        var op = Block(1, 24, 8, 12, 12, 1, true, ["batch", 8, 12, 12], inC: 8);
        byte[] model = op.Model.ToBytes();
        var profile = new ShapeProfile([1, 8, 12, 12], [2, 8, 12, 12], [4, 8, 12, 12]);
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(model, null), "m"), Fused(2) with { Profiles = new Dictionary<string, ShapeProfile> { ["x"] = profile } });
        ScaledConv(engine.Plan);
        FusedLayer(engine.Plan);
        ShapeSweep.AssertMatchesOnnxRuntime(engine, model, new[] { new[] { 1, 8, 12, 12 }, [4, 8, 12, 12], [3, 8, 12, 12], [2, 8, 12, 12] }, seed: 40);
    }

    [Fact]
    public void The_plan_round_trip_keeps_the_channel_scale_and_the_fused_layer()
    {
        var engine = EngineBuilder.Build(Network(Block(2, 16, 8, 14, 14, 1, true, inC: 8)), Fused(2));
        var read = Engine.Deserialize(engine.Serialize(includeWeights: true));
        var (before, after) = (ScaledConv(engine.Plan), ScaledConv(read.Plan));
        Assert.Equal((before.ChannelScale, before.Residual, before.Tactic, before.Algorithm), (after.ChannelScale, after.Residual, after.Tactic, after.Algorithm));
        Assert.Equal(before.Origins, after.Origins);
        Assert.Equal(["Mul_12", "Conv_13", "Add_14"], after.Origins); // the Mul, the convolution and the residual Add
        var (fusedBefore, fusedAfter) = (FusedLayer(engine.Plan), FusedLayer(read.Plan));
        Assert.Equal((fusedBefore.Tactic, fusedBefore.Output), (fusedAfter.Tactic, fusedAfter.Output));
        Assert.Equal(["Conv_0", "Sigmoid_1", "Mul_2", "Conv_3", "Sigmoid_4", "Mul_5"], fusedAfter.Origins); // expand + SiLU, depthwise + SiLU
        foreach (var (a, b) in new[] { (fusedBefore.Expand, fusedAfter.Expand), (fusedBefore.Depthwise, fusedAfter.Depthwise) })
            Assert.Equal((a.Name, a.Tactic, a.TacticId, a.Algorithm, a.Activation), (b.Name, b.Tactic, b.TacticId, b.Algorithm, b.Activation));
        float[] x = ErrorMetrics.RandomValues(4, 2 * 8 * 14 * 14);
        Assert.Equal(Run(engine, x), Run(read, x));
    }

    [Fact]
    public void Refit_rederives_the_weights_of_the_folded_and_fused_layers()
    {
        // Built on v1, refitted with v2: equals a build on v2 bit for bit, and ONNX Runtime on v2.
        const int inC = 8, c = 24, outC = 16;
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            foreach (var (name, shape) in new (string, int[])[] { ("wx", [c, inC, 1, 1]), ("bx", [c]), ("wd", [c, 1, 3, 3]), ("bd", [c]), ("wr", [6, c, 1, 1]), ("br", [6]), ("we", [c, 6, 1, 1]), ("be", [c]), ("wp", [outC, c, 1, 1]), ("bp", [outC]) })
                m.AddInitializer(name, ErrorMetrics.RandomValues(seed * 100 + name[1], shape.Aggregate(1, (a, d) => a * d)), shape.Select(d => (long)d).ToArray());
            AddBlock(m, "x", true, c, 1, false);
        }, Fused(2), [2, inC, 13, 11], engine =>
        {
            ScaledConv(engine.Plan);
            FusedLayer(engine.Plan);
        });
    }

    public static TheoryData<string> Corruptions => new(["scale is a weight", "scale on a depthwise convolution", "scale of the wrong shape",
        "fused layer without a projection reads a projection weight", "fused layer without a projection reads a residual"]);

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_corrupt_channel_scale_or_fused_layer_is_refused(string corruption)
    {
        var engine = EngineBuilder.Build(Network(Block(1, 16, 16, 9, 9, 1, true)), Folded(2));
        var conv = ScaledConv(engine.Plan);
        var depthwise = engine.Plan.Layers.OfType<ConvLayer>().First(l => l.Algorithm == ConvAlgorithm.Depthwise);
        if (corruption.StartsWith("fused", StringComparison.Ordinal))
        {
            engine = EngineBuilder.Build(Network(Block(1, 16, 8, 9, 9, 1, false, inC: 8)), Fused(2));
            FusedLayer(engine.Plan).Inputs[corruption.EndsWith("weight", StringComparison.Ordinal) ? 5 : 7] =
                corruption.EndsWith("weight", StringComparison.Ordinal) ? ScaledConv(engine.Plan).W : FusedLayer(engine.Plan).X;
        }
        switch (corruption)
        {
            case "scale is a weight": conv.Inputs[4] = conv.W; break;
            case "scale on a depthwise convolution": depthwise.Inputs[4] = conv.ChannelScale; break;
            case "scale of the wrong shape": conv.Inputs[4] = conv.X; break; // a tensor, but [N, C, H, W]: refused when the plan's shapes are inferred
        }
        var error = Assert.Throws<PlanFormatException>(() => Engine.Deserialize(engine.Serialize(includeWeights: true)));
        Assert.Contains("inconsistent", error.Message);
    }

    [Fact]
    public void A_mul_with_another_reader_or_before_a_larger_kernel_stays_separate()
    {
        // The scaled tensor is also a network output.
        var op = Block(1, 16, 16, 9, 9, 1, false);
        op.Output("scaled");
        var engine = EngineBuilder.Build(Network(op), Folded(2));
        Assert.DoesNotContain(engine.Plan.Layers.OfType<ConvLayer>(), c => !c.ChannelScale.IsNone);

        // A 3×3 convolution reads it.
        var three = new OperatorCase();
        three.Input("x", 1, 8, 9, 9).Input("g", 1, 8, 1, 1).Weight("w", 8, 8, 3, 3);
        three.Model.AddNode("Relu", ["x"], ["d"]);
        three.Model.AddNode("Mul", ["d", "g"], ["scaled"]);
        three.Model.AddNode("Conv", ["scaled", "w"], ["p"], ("pads", new long[] { 1, 1, 1, 1 }));
        three.Output("p").AssertMatchesOnnxRuntime(Folded(2));
        Assert.Single(three.Plan!.Layers.OfType<ElementwiseLayer>());
    }

    [Fact]
    public void The_layer_info_shows_the_fused_layer_without_a_projection()
    {
        using var dir = new TempDirectory();
        Block(1, 32, 8, 14, 14, 1, false, inC: 8).Model.Save(dir.File("m.onnx"));
        // Level 0 on two threads: fused by the rule.
        var engine = EngineConverter.Convert(dir.File("m.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = 2 });
        var layer = Assert.Single(TrtEngineInfo.From(engine).Layers, l => l.Algorithm == FusedInvertedResidualLayer.AlgorithmName);
        Assert.Equal("Fused inverted residual (nhwc 1x1 gemm → nhwc depthwise 3x3/1) + Silu", layer.Type);
        Assert.Equal(FusedLayer(engine.Native.Plan).Tactic, layer.Tactic);
        Assert.Equal(6, layer.Origins.Length); // two convolutions and their SiLUs (Sigmoid, Mul)
    }

    [Theory]
    [InlineData(28, 40, true)]    // 9 row blocks × 40 outputs ≤ 2 × 784 pixels
    [InlineData(14, 112, true)]   // 3 × 112 ≤ 2 × 196
    [InlineData(7, 192, false)]   // 1 × 192 > 2 × 49: scaling the weight costs more than the Mul
    public void Level_0_folds_by_the_rule_and_the_layer_info_shows_it(int size, int outC, bool folds)
    {
        using var dir = new TempDirectory();
        Block(1, 32, outC, size, size, 1, false).Model.Save(dir.File("m.onnx"));
        var engine = EngineConverter.Convert(dir.File("m.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = 2 });
        Assert.Equal(folds, engine.Native.Plan.Layers.OfType<ConvLayer>().Any(c => !c.ChannelScale.IsNone));
        if (!folds) return;
        var layer = Assert.Single(TrtEngineInfo.From(engine).Layers, l => l.Type.Contains("channel scale", StringComparison.Ordinal));
        Assert.Equal("Conv (nhwc 1x1 gemm) × channel scale", layer.Type);
        Assert.Equal(["Mul_9", "Conv_10"], layer.Origins);
    }

    private static float[] Run(Engine engine, float[] x) => RefitComparison.Run(engine, x);
}
