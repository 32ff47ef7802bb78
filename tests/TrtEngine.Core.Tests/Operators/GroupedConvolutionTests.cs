using TrtEngine.Core.Conversion;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// Grouped convolutions (neither one group nor depthwise: RegNet's, ResNeXt's) against ONNX Runtime, relative L2 ≤ 1e-5.
/// Where each group's output channels fill whole column panels of a tactic they run channels-last, one GEMM per group
/// in one dispatch over a group-ordered unfold; otherwise NCHW, one group at a time.
/// </summary>
public sealed class GroupedConvolutionTests
{
    private static OperatorCase GroupedConv(int batch, int inC, int outC, int k, int stride, int pad, int dilation, int groups, int h = 13, int w = 11)
    {
        var c = new OperatorCase().Input("x", batch, inC, h, w).Weight("w", outC, inC / groups, k, k).Weight("b", outC);
        c.Model.AddNode("Conv", ["x", "w", "b"], ["h"], ("kernel_shape", new long[] { k, k }), ("strides", new long[] { stride, stride }),
            ("dilations", new long[] { dilation, dilation }), ("group", (long)groups), ("pads", new long[] { pad, pad, k > 1 ? pad + 1 : pad, pad }));
        return c.LeaveRegion("h");
    }

    private static ConvLayer GroupedLayer(EnginePlan plan) => Assert.Single(plan.Layers.OfType<ConvLayer>(), l => l.Groups > 1 && l.Algorithm != ConvAlgorithm.Depthwise);

    /// <summary>The grouped convolution runs channels-last with a tactic whose panels its groups fill.</summary>
    private static void AssertChannelsLastGroups(EnginePlan plan)
    {
        var conv = GroupedLayer(plan);
        Assert.True(conv.ChannelsLast, $"{conv.Name} runs NCHW");
        int perGroup = plan.Weights[conv.W.Index].Shape[0] / conv.Groups;
        Assert.Equal(0, perGroup % GemmKernels.Tactics[conv.TacticId].Nr);
    }

    [Theory]
    [InlineData(1, 32, 32, 3, 1, 1, 1, 2)]    // RegNet's shape: 16 output channels a group
    [InlineData(2, 64, 64, 3, 2, 1, 1, 4)]    // stride 2, batch 2
    [InlineData(1, 48, 96, 3, 1, 2, 2, 3)]    // 32 a group, dilation 2
    [InlineData(1, 20, 32, 5, 2, 2, 1, 2)]    // 5×5, 10 input channels a group
    [InlineData(3, 40, 64, 1, 1, 0, 1, 4)]    // 1×1: the batch folds into the GEMM's rows, each group reads its columns of the input
    [InlineData(2, 24, 48, 1, 2, 0, 1, 2)]    // strided 1×1 through the unfold; 24 a group fills only 24-wide panels
    [InlineData(1, 400, 400, 3, 1, 1, 1, 25)] // RegNetX-400MF's last stage at 7×7
    public void Conv_runs_channels_last_where_its_groups_fill_panels(int batch, int inC, int outC, int k, int stride, int pad, int dilation, int groups)
    {
        foreach (int level in new[] { 0, 1 })
        {
            var c = inC == 400 ? GroupedConv(batch, inC, outC, k, stride, pad, dilation, groups, 7, 7) : GroupedConv(batch, inC, outC, k, stride, pad, dilation, groups);
            c.AssertMatchesOnnxRuntime(level);
            AssertChannelsLastGroups(c.Plan!);
        }
    }

    [Fact]
    public void The_layer_info_names_the_groups()
    {
        using var dir = new TempDirectory();
        var c = GroupedConv(1, 32, 32, 3, 1, 1, 1, 2);
        c.Model.Save(dir.File("m.onnx"));
        using var engine = EngineConverter.Convert(dir.File("m.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        Assert.Contains(TrtEngineInfo.From(engine).Layers, l => l.Type == "Conv (nhwc im2col gemm, 2 groups)");
    }

    public static TheoryData<string> TacticNames => new(GemmKernels.Tactics.Where(t => t.IsSupported).Select(t => t.Name));

    [Theory]
    [MemberData(nameof(TacticNames))]
    public void Every_tactic_that_fits_runs_it_and_one_that_does_not_falls_back(string tactic)
    {
        // 48 output channels a group: whole 16- and 24-wide panels, not 32-wide ones.
        var c = GroupedConv(2, 32, 96, 3, 1, 1, 1, 2);
        c.AssertMatchesOnnxRuntime(new BuilderConfig { ForceTactic = tactic, Threads = 2 });
        AssertChannelsLastGroups(c.Plan!);
        var forced = GemmKernels.Tactics.First(t => t.Name == tactic);
        Assert.Equal(48 % forced.Nr == 0, GroupedLayer(c.Plan!).TacticId == forced.Id);
    }

    [Theory]
    [InlineData(8, 2)]  // RegNetY-400MF's 8 output channels a group
    [InlineData(12, 3)]
    public void Groups_narrower_than_every_panel_run_nchw(int perGroup, int groups)
    {
        var c = GroupedConv(2, 4 * groups, perGroup * groups, 3, 1, 1, 1, groups);
        c.AssertMatchesOnnxRuntime();
        Assert.False(GroupedLayer(c.Plan!).ChannelsLast);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_residual_and_relu_fuse_into_the_grouped_gemms(int threads)
    {
        // Batch 2, 3×3 and 1×1 grouped convolutions, each adding the input back (a ResNeXt-like block's shape), then Relu.
        var c = new OperatorCase().Input("x", 2, 32, 9, 10).Weight("w1", 32, 16, 3, 3).Weight("b1", 32).Weight("w2", 32, 16, 1, 1);
        c.Model.AddNode("Conv", ["x", "w1", "b1"], ["h1"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 2L));
        c.Model.AddNode("Add", ["h1", "x"], ["s1"]);
        c.Model.AddNode("Relu", ["s1"], ["r1"]);
        c.Model.AddNode("Conv", ["r1", "w2"], ["h2"], ("group", 2L));
        c.Model.AddNode("Add", ["r1", "h2"], ["s2"]);
        c.Model.AddNode("Relu", ["s2"], ["r2"]);
        c.LeaveRegion("r2").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = threads, OptimizationLevel = 0 });
        var convolutions = c.Plan!.Layers.OfType<ConvLayer>().ToArray();
        Assert.Equal(2, convolutions.Length);
        Assert.All(convolutions, conv => Assert.True(conv.ChannelsLast && !conv.Residual.IsNone && conv.Activation.Kind == ActivationKind.Relu, conv.Name));
    }

    [Fact]
    public void A_grouped_pointwise_convolution_leaves_a_squeeze_excitation_scale_apart()
    {
        // The channel-scale kernel is a dense 1×1 GEMM's: folded into a grouped one, the scale would be dropped.
        var c = new OperatorCase().Input("x", 2, 32, 7, 6).Weight("w0", 32, 32, 1, 1).Weight("w", 32, 16, 1, 1);
        c.Model.AddNode("Conv", ["x", "w0"], ["d"]);
        c.Model.AddNode("GlobalAveragePool", ["d"], ["p"]);
        c.Model.AddNode("Sigmoid", ["p"], ["s"]);
        c.Model.AddNode("Mul", ["d", "s"], ["m"]);
        c.Model.AddNode("Conv", ["m", "w"], ["h"], ("group", 2L));
        c.LeaveRegion("h").AssertMatchesOnnxRuntime(new BuilderConfig { OptimizationLevel = 0, FoldChannelScales = true });
        AssertChannelsLastGroups(c.Plan!);
        Assert.True(GroupedLayer(c.Plan!).ChannelScale.IsNone);
        Assert.Contains(c.Plan!.Layers, l => l is ElementwiseLayer { ChannelsLast: true });
    }

    [Fact]
    public void A_shufflenet_v1_unit_is_not_fused_as_an_inverted_residual()
    {
        // Grouped 1×1, depthwise 3×3, grouped 1×1: an inverted residual's shape, whose fused kernel runs dense 1×1 GEMMs.
        var c = new OperatorCase().Input("x", 1, 32, 9, 9).Weight("w1", 64, 16, 1, 1).Weight("w2", 64, 1, 3, 3).Weight("w3", 32, 32, 1, 1);
        c.Model.AddNode("Conv", ["x", "w1"], ["e"], ("group", 2L));
        c.Model.AddNode("Relu", ["e"], ["r"]);
        c.Model.AddNode("Conv", ["r", "w2"], ["d"], ("group", 64L), ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["d", "w3"], ["h"], ("group", 2L));
        c.LeaveRegion("h").AssertMatchesOnnxRuntime(new BuilderConfig { OptimizationLevel = 0, FuseInvertedResiduals = true });
        Assert.DoesNotContain(c.Plan!.Layers, l => l is FusedInvertedResidualLayer);
        Assert.Equal(2, c.Plan!.Layers.OfType<ConvLayer>().Count(l => l.ChannelsLast && l.Groups == 2));
    }

    [Fact]
    public void Refit_rederives_the_batchnorm_folded_grouped_weight_exactly()
    {
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("w", ErrorMetrics.RandomValues(seed, 64 * 16 * 9), [64, 16, 3, 3]);
            m.AddInitializer("gamma", ErrorMetrics.RandomValues(seed + 10, 64).Select(v => 1 + v / 4).ToArray(), [64]);
            m.AddInitializer("beta", ErrorMetrics.RandomValues(seed + 20, 64), [64]);
            m.AddInitializer("mean", ErrorMetrics.RandomValues(seed + 30, 64), [64]);
            m.AddInitializer("var", ErrorMetrics.RandomValues(seed + 40, 64).Select(v => 1 + v / 2).ToArray(), [64]);
            m.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 4L));
            m.AddNode("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], ["n"]);
            m.AddNode("Relu", ["n"], ["r"]);
            m.AddInitializer("one", [1f], [1]);
            m.AddNode("Mul", ["r", "one"], ["y"]);
        }, new BuilderConfig { OptimizationLevel = 0 }, [2, 64, 8, 8], engine => AssertChannelsLastGroups(engine.Plan));
    }

    [Fact]
    public void A_plan_whose_grouped_convolution_reads_panels_its_groups_do_not_fill_is_refused()
    {
        // 16 output channels a group: a 32-wide tactic would read two groups' columns as one, and past the weight's end.
        var c = GroupedConv(1, 32, 32, 3, 1, 1, 1, 2);
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"), new BuilderConfig { OptimizationLevel = 0 });
        var conv = GroupedLayer(engine.Plan);
        Assert.True(conv.ChannelsLast);
        var wide = GemmKernels.Tactics.First(t => t.Nr == 32);
        conv.TacticId = wide.Id;
        engine.Plan.Weights[conv.W.Index].Recipe.Ints[4] = wide.Id;
        var error = Assert.Throws<PlanFormatException>(() => Engine.Deserialize(engine.Serialize(includeWeights: false)));
        Assert.Contains("packed for its layout and tactic", error.Message, StringComparison.Ordinal);
    }
}
