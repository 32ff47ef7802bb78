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
/// in one dispatch (groups of 8 in 8-wide panels, which only they use), reading the windows inside the image in place
/// where the tactic's kernel runs in registers and unfolding the rest; groups of 2 or 4 channels in and out run
/// channels-last directly (<see cref="GroupedConvJob"/>); otherwise NCHW, in one batched GEMM.
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
            // The narrow tactic runs where it is forced, but is not timed where wider panels fit.
            Assert.False(GemmKernels.Tactics[GroupedLayer(c.Plan!).TacticId].Narrow);
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
    [InlineData(1, 16, 16, 3, 1, 1, 1, 2, 13, 11)]   // RegNetY's 8 output channels a group
    [InlineData(2, 48, 48, 3, 2, 1, 1, 6, 13, 11)]   // stride 2, batch 2
    [InlineData(1, 24, 24, 3, 1, 2, 2, 3, 13, 11)]   // dilation 2
    [InlineData(1, 15, 40, 5, 2, 2, 1, 5, 13, 11)]   // 5×5, 3 input channels a group
    [InlineData(1, 440, 440, 3, 1, 1, 1, 55, 7, 7)]  // RegNetY-400MF's last stage
    [InlineData(2, 16, 16, 3, 1, 1, 1, 2, 2, 30)]    // two rows: every window reaches into the padding
    [InlineData(1, 16, 16, 3, 1, 0, 1, 2, 3, 40)]    // no padding: every window inside
    [InlineData(3, 32, 16, 1, 1, 0, 1, 2, 7, 6)]     // 1×1: each group's columns of the input, the batch in the rows
    public void Groups_of_eight_run_channels_last_in_narrow_panels(int batch, int inC, int outC, int k, int stride, int pad, int dilation, int groups, int h, int w)
    {
        foreach (int level in new[] { 0, 1 })
        {
            var c = GroupedConv(batch, inC, outC, k, stride, pad, dilation, groups, h, w);
            c.AssertMatchesOnnxRuntime(level);
            AssertChannelsLastGroups(c.Plan!);
            Assert.True(GemmKernels.Tactics[GroupedLayer(c.Plan!).TacticId].Narrow);
        }
    }

    [Theory]
    [InlineData(12, 3)]
    [InlineData(2, 8)]  // 4 inputs and 2 outputs a group: neither a panel nor the direct kernel
    public void Groups_no_panel_divides_run_nchw(int perGroup, int groups)
    {
        var c = GroupedConv(2, 4 * groups, perGroup * groups, 3, 1, 1, 1, groups);
        c.AssertMatchesOnnxRuntime();
        Assert.False(GroupedLayer(c.Plan!).ChannelsLast);
    }

    /// <summary>
    /// Groups of 2 or 4 channels in and out (ResNeXt-50's first stage: 32 groups of 4) run channels-last, directly: each
    /// 8 output channels take their groups' inputs permuted within 128-bit halves. Channels past whole vectors and
    /// windows cut by the padding take the one-at-a-time path; a plan round trip and every thread count give the same bits.
    /// </summary>
    [Theory]
    [InlineData(1, 4, 32, 3, 1, 1, 1)]  // ResNeXt's shape: 8 groups of 4
    [InlineData(2, 2, 16, 3, 2, 1, 1)]  // groups of 2, stride 2, batch 2
    [InlineData(1, 4, 12, 3, 1, 2, 2)]  // 3 groups of 4: a vector and a 4-channel tail; dilation 2
    [InlineData(1, 2, 6, 5, 1, 2, 1)]   // 3 groups of 2, 5×5: the one-at-a-time path only
    [InlineData(3, 4, 16, 1, 1, 0, 1)]  // 1×1
    public void Groups_of_2_or_4_channels_run_channels_last_directly(int batch, int perGroup, int channels, int k, int stride, int pad, int dilation)
    {
        var c = GroupedConv(batch, channels, channels, k, stride, pad, dilation, channels / perGroup);
        c.AssertMatchesOnnxRuntime();
        var conv = GroupedLayer(c.Plan!);
        Assert.True(conv.ChannelsLast && conv.Algorithm == ConvAlgorithm.GroupedDirect && conv.TacticId == -1, conv.AlgorithmName);
        var network = OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");
        float[] x = ErrorMetrics.RandomValues(9, batch * channels * 13 * 11);
        float[] Output(Engine engine)
        {
            var context = engine.CreateExecutionContext();
            var y = new float[context.GetOutputShape(0).Aggregate(1, (a, d) => a * d)];
            context.Execute([x], [y]);
            return y;
        }
        var one = EngineBuilder.Build(network, new BuilderConfig { Threads = 1 });
        float[] expected = Output(one);
        Assert.Equal(expected, Output(Engine.Deserialize(one.Serialize(includeWeights: true))));
        foreach (int threads in new[] { 2, 3, 5 }) Assert.Equal(expected, Output(EngineBuilder.Build(network, new BuilderConfig { Threads = threads })));
    }

    [Fact]
    public void A_plan_whose_small_group_convolution_claims_another_algorithm_is_refused()
    {
        var c = GroupedConv(1, 16, 16, 3, 1, 1, 1, 4);
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"), new BuilderConfig { OptimizationLevel = 0 });
        var conv = GroupedLayer(engine.Plan);
        Assert.Equal(ConvAlgorithm.GroupedDirect, conv.Algorithm);
        conv.Algorithm = ConvAlgorithm.Depthwise;
        var error = Assert.Throws<PlanFormatException>(() => Engine.Deserialize(engine.Serialize(includeWeights: false)));
        Assert.Contains("cannot run as Depthwise", error.Message);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(1, 4)] // 8 channels a group: the narrow tactic
    [InlineData(2, 4)]
    [InlineData(3, 4)]
    [InlineData(1, 8)] // 4 channels a group: the direct kernel
    [InlineData(2, 8)]
    public void A_residual_and_relu_fuse_into_the_grouped_gemms(int threads, long groups)
    {
        // Batch 2, 3×3 and 1×1 grouped convolutions, each adding the input back (a ResNeXt-like block's shape), then Relu.
        int perGroup = 32 / (int)groups;
        var c = new OperatorCase().Input("x", 2, 32, 9, 10).Weight("w1", 32, perGroup, 3, 3).Weight("b1", 32).Weight("w2", 32, perGroup, 1, 1);
        c.Model.AddNode("Conv", ["x", "w1", "b1"], ["h1"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", groups));
        c.Model.AddNode("Add", ["h1", "x"], ["s1"]);
        c.Model.AddNode("Relu", ["s1"], ["r1"]);
        c.Model.AddNode("Conv", ["r1", "w2"], ["h2"], ("group", groups));
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

    [Theory]
    [InlineData(4L)]
    [InlineData(8L)] // 8 channels a group: 8-wide panels
    [InlineData(16L)] // 4 channels a group: the direct kernel's reorder
    public void Refit_rederives_the_batchnorm_folded_grouped_weight_exactly(long groups)
    {
        int perGroup = 64 / (int)groups;
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("w", ErrorMetrics.RandomValues(seed, 64 * perGroup * 9), [64, perGroup, 3, 3]);
            m.AddInitializer("gamma", ErrorMetrics.RandomValues(seed + 10, 64).Select(v => 1 + v / 4).ToArray(), [64]);
            m.AddInitializer("beta", ErrorMetrics.RandomValues(seed + 20, 64), [64]);
            m.AddInitializer("mean", ErrorMetrics.RandomValues(seed + 30, 64), [64]);
            m.AddInitializer("var", ErrorMetrics.RandomValues(seed + 40, 64).Select(v => 1 + v / 2).ToArray(), [64]);
            m.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", groups));
            m.AddNode("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], ["n"]);
            m.AddNode("Relu", ["n"], ["r"]);
            m.AddInitializer("one", [1f], [1]);
            m.AddNode("Mul", ["r", "one"], ["y"]);
        }, new BuilderConfig { OptimizationLevel = 0 }, [2, 64, 8, 8], engine =>
        {
            if (perGroup == 4) Assert.Equal(ConvAlgorithm.GroupedDirect, GroupedLayer(engine.Plan).Algorithm);
            else AssertChannelsLastGroups(engine.Plan);
        });
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
