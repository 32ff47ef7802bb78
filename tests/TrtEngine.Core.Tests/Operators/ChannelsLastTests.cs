using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Plan;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// The channels-last (NHWC) kernels against ONNX Runtime, relative L2 ≤ 1e-5. A trailing Mul by 1 makes the network
/// output (always NCHW), so the layer under test stays inside the channels-last region, as in a real network.
/// </summary>
public sealed class ChannelsLastTests
{
    private static void AssertChannelsLast(EnginePlan plan)
    {
        Assert.All(plan.Layers.OfType<ConvLayer>(), conv => Assert.True(conv.ChannelsLast, $"{conv.Name} runs NCHW"));
        Assert.Contains(plan.Layers, l => l is ReformatLayer { ToChannelsLast: false });
    }

    /// <summary>Reformats into the region at the input: none where the first convolution reads the input's planes (its band), else one.</summary>
    private static int InputReformats(EnginePlan plan) => plan.Layers.OfType<ConvLayer>().First().PlanarInput ? 0 : 1;

    [Theory]
    [InlineData(1, 3, 8, 3, 1, 1, 1, 1)]     // first-layer shape: 3 input channels
    [InlineData(2, 5, 13, 3, 2, 0, 1, 1)]    // odd channel counts, stride 2, batch 2
    [InlineData(1, 6, 17, 3, 1, 2, 2, 1)]    // dilation 2
    [InlineData(1, 16, 40, 1, 1, 0, 1, 1)]   // 1×1 as a GEMM; 40 = 32 + 8 output channels
    [InlineData(2, 9, 24, 1, 2, 0, 1, 1)]    // strided 1×1 through im2col
    [InlineData(1, 7, 33, 5, 2, 2, 1, 1)]    // 5×5
    [InlineData(1, 13, 13, 3, 1, 1, 1, 13)]  // depthwise, 13 channels: vector and scalar lanes
    [InlineData(2, 40, 40, 3, 2, 1, 1, 40)]  // depthwise stride 2: 16 + 16 + 8 channels
    [InlineData(1, 24, 24, 3, 1, 2, 2, 24)]  // depthwise dilated
    [InlineData(1, 32, 32, 5, 1, 2, 1, 32)]  // depthwise 5×5
    [InlineData(2, 40, 40, 5, 2, 2, 1, 40)]  // depthwise 5×5 stride 2
    public void Conv(int batch, int inC, int outC, int k, int stride, int pad, int dilation, int groups)
    {
        var c = new OperatorCase().Input("x", batch, inC, 13, 11).Weight("w", outC, inC / groups, k, k).Weight("b", outC);
        c.Model.AddNode("Conv", ["x", "w", "b"], ["h"], ("kernel_shape", new long[] { k, k }), ("strides", new long[] { stride, stride }),
            ("dilations", new long[] { dilation, dilation }), ("group", (long)groups), ("pads", new long[] { pad, pad, pad + 1, pad }));
        c.LeaveRegion("h", "y").AssertMatchesOnnxRuntime();
        AssertChannelsLast(c.Plan!);
    }

    [Theory]
    [InlineData(1, 13, "Relu")]   // 13 channels: vector and scalar lanes per pixel
    [InlineData(2, 40, "Clip")]
    [InlineData(3, 16, "")]
    public void A_batchnorm_before_a_convolution_runs_channels_last_with_its_activation(int threads, int channels, string activation)
    {
        // DenseNet's order: a concat of two convolutions, BatchNormalization, Relu, then the next convolution (nothing to
        // fold into); the concat is also added back, so the BatchNormalization stands alone (it is not the concat's only reader).
        var c = new OperatorCase().Input("x", 2, 6, 11, 9).Weight("w1", 8, 6, 3, 3).Weight("w2", channels - 8, 6, 1, 1)
            .Weight("gamma", channels).Weight("beta", channels).Weight("mean", channels).Weight("w3", 12, channels, 3, 3);
        c.Model.AddInitializer("var", ErrorMetrics.RandomValues(3, channels).Select(v => 1 + v / 2).ToArray(), [channels]);
        c.Model.AddNode("Conv", ["x", "w1"], ["a"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["x", "w2"], ["b"]);
        c.Model.AddNode("Concat", ["a", "b"], ["cat"], ("axis", 1L));
        c.Model.AddNode("BatchNormalization", ["cat", "gamma", "beta", "mean", "var"], [activation.Length > 0 ? "n" : "r"]);
        if (activation == "Clip")
        {
            c.Model.AddNode("Clip", ["n"], ["r"], ("min", 0f), ("max", 6f));
            c.Model.Opset = 10;
        }
        else if (activation.Length > 0) c.Model.AddNode(activation, ["n"], ["r"]);
        c.Model.AddNode("Add", ["r", "cat"], ["s"]);
        c.Model.AddNode("Conv", ["s", "w3"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.LeaveRegion("h", "y").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = threads, OptimizationLevel = 0 });
        AssertChannelsLast(c.Plan!);
        var batchNorm = Assert.Single(c.Plan!.Layers.OfType<BatchNormLayer>());
        Assert.True(batchNorm.ChannelsLast);
        Assert.Equal(activation.Length > 0, batchNorm.Activation.Kind != ActivationKind.Identity);
        Assert.Equal(2, c.Plan!.Layers.OfType<ReformatLayer>().Count()); // into and out of the region only
        Assert.Equal(activation.Length > 0 ? $"BatchNorm (nhwc) + {batchNorm.Activation.Kind}" : "BatchNorm (nhwc)",
            Core.Engines.TrtEngineInfo.Describe(batchNorm, c.Plan!));
    }

    /// <summary>
    /// A DenseNet block's shape: each layer's input is the concat of the block input's convolution and every earlier
    /// layer's output, read by a BatchNormalization (+ Relu) alone. Each concat normalizes its inputs as it joins them,
    /// so the joined tensors are never written and read back; the concats' inputs, read by several, stay where they are.
    /// </summary>
    private static void DenseBlock(OnnxModelBuilder m, int seed)
    {
        m.AddInitializer("w0", ErrorMetrics.RandomValues(seed, 8 * 6 * 9), [8, 6, 3, 3]);
        m.AddNode("Conv", ["x", "w0"], ["x0"], ("pads", new long[] { 1, 1, 1, 1 }));
        string[] features = ["x0"];
        foreach (int layer in new[] { 1, 2, 3 })
        {
            int channels = 8 + 5 * (layer - 1);
            foreach (string p in new[] { "gamma", "beta", "mean" })
                m.AddInitializer($"{p}{layer}", ErrorMetrics.RandomValues(seed * 10 + layer + p.Length, channels), [channels]);
            m.AddInitializer($"var{layer}", ErrorMetrics.RandomValues(seed * 20 + layer, channels).Select(v => 1 + v / 2).ToArray(), [channels]);
            m.AddNode("Concat", features, [$"cat{layer}"], ("axis", 1L));
            m.AddNode("BatchNormalization", [$"cat{layer}", $"gamma{layer}", $"beta{layer}", $"mean{layer}", $"var{layer}"], [$"n{layer}"]);
            if (layer == 3) break;
            m.AddNode("Relu", [$"n{layer}"], [$"r{layer}"]);
            m.AddInitializer($"w{layer}", ErrorMetrics.RandomValues(seed + layer, 5 * channels * 9), [5, channels, 3, 3]);
            m.AddNode("Conv", [$"r{layer}", $"w{layer}"], [$"x{layer}"], ("pads", new long[] { 1, 1, 1, 1 }));
            features = [.. features, $"x{layer}"];
        }
        // A transition's convolution after the last one (no activation between).
        m.AddInitializer("w3", ErrorMetrics.RandomValues(seed + 3, 4 * 18), [4, 18, 1, 1]);
        m.AddNode("Conv", ["n3", "w3"], ["y"]);
    }

    private static void AssertConcatsNormalize(EnginePlan plan)
    {
        Assert.DoesNotContain(plan.Layers, l => l is BatchNormLayer);
        var concats = plan.Layers.OfType<ConcatLayer>().ToArray();
        Assert.Equal(3, concats.Length);
        Assert.All(concats, concat => Assert.True(concat.Normalizes && concat.InPlaceCount == 0, concat.Name));
        Assert.Equal("Concat + BatchNorm (nhwc) + Relu", Core.Engines.TrtEngineInfo.Describe(concats[0], plan));
        Assert.Equal("Concat + BatchNorm (nhwc)", Core.Engines.TrtEngineInfo.Describe(concats[2], plan));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_concat_that_only_a_batchnorm_reads_normalizes_its_inputs_as_it_joins_them(int threads)
    {
        var c = new OperatorCase().Input("x", 2, 6, 9, 7);
        DenseBlock(c.Model, 1);
        c.LeaveRegion("y", "out").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = threads, OptimizationLevel = 0 });
        AssertConcatsNormalize(c.Plan!);
    }

    [Fact]
    public void Refit_gives_a_normalizing_concat_new_parameters_exactly_and_its_plan_round_trips()
    {
        RefitComparison.AssertRefitEqualsFreshBuild(DenseBlock, new BuilderConfig { OptimizationLevel = 0 }, [2, 6, 9, 7], engine =>
        {
            AssertConcatsNormalize(engine.Plan);
            AssertConcatsNormalize(Native.Runtime.Engine.Deserialize(engine.Serialize(includeWeights: true)).Plan);
        });
    }

    [Fact]
    public void A_plan_whose_normalizing_concat_reads_a_parameter_from_a_tensor_is_refused()
    {
        // The kernel reads the four parameters as weights one per channel, and only tensors as what it joins.
        var c = new OperatorCase().Input("x", 1, 6, 9, 7);
        DenseBlock(c.Model, 1);
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.LeaveRegion("y", "out").Model.ToBytes(), null), "m"), new BuilderConfig { OptimizationLevel = 0 });
        var concat = engine.Plan.Layers.OfType<ConcatLayer>().Last();
        concat.Inputs[^1] = concat.Inputs[0];
        var error = Assert.Throws<PlanFormatException>(() => Native.Runtime.Engine.Deserialize(engine.Serialize(includeWeights: false)));
        Assert.Contains("normalizes what it joins", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "avx512_mr12_nr32")]
    [InlineData(2, "avx512_mr12_nr16")]
    [InlineData(2, "packed_mr4_nr24_kc256")]   // K = 588 crosses K blocks
    [InlineData(3, "packed_mr6_nr16")]
    public void A_first_layer_unfolds_its_im2col_block_by_block_on_the_gemm_threads(int threads, string tactic)
    {
        // Two 7×7 stride-2 convolutions of a 12-channel image (40×40 outputs, 17 row blocks of 96 pixels), batch 2; the
        // second adds the first as its residual, then Relu. 40 outputs over several panels and kernel rows of 84 values:
        // no tactic reads the windows from a band instead.
        var c = new OperatorCase().Input("x", 2, 12, 80, 79).Weight("w1", 40, 12, 7, 7).Weight("b1", 40).Weight("w2", 40, 12, 7, 7).Weight("b2", 40);
        (string, object)[] attributes = [("strides", new long[] { 2, 2 }), ("pads", new long[] { 3, 3, 3, 3 })];
        c.Model.AddNode("Conv", ["x", "w1", "b1"], ["h1"], attributes);
        c.Model.AddNode("Conv", ["x", "w2", "b2"], ["h2"], attributes);
        c.Model.AddNode("Add", ["h2", "h1"], ["s"]);
        c.Model.AddNode("Relu", ["s"], ["r"]);
        var window = new Window2D(1, 12, 80, 79, 40, 40, 7, 7, 2, 2, 3, 3, 1, 1, 3, 3);
        var forced = GemmKernels.Tactics.First(t => t.Name == tactic);
        Assert.True(GemmJob.UnfoldScratchLength(window, forced, threads) > 0 && !GemmJob.CanReadWindows(forced, 588, 40, 84), "the GEMM would not unfold");
        c.LeaveRegion("r", "y").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = threads, ForceTactic = tactic, OptimizationLevel = 0 });
        AssertChannelsLast(c.Plan!);
        Assert.Contains(c.Plan!.Layers.OfType<ConvLayer>(), conv => !conv.Residual.IsNone);
    }

    [SkippableTheory]
    [InlineData(1, 16, "packed_mr6_nr16", 2, 1)]   // one 16-wide panel of outputs
    [InlineData(2, 12, "packed_mr4_nr16", 2, 1)]   // 12 outputs: a partial panel, through a scratch tile
    [InlineData(2, 8, "packed_mr12_nr8", 1, 1)]    // the narrow tactic
    [InlineData(3, 16, "packed_mr6_nr16", 1, 2)]   // dilated: one pass per tap instead of per kernel row
    [InlineData(2, 24, "avx512_mr12_nr32", 2, 1)]  // 512-bit, where the CPU has it
    [InlineData(2, 40, "packed_mr6_nr16", 2, 1)]   // three panels (the last partial), read from the band: kernel rows of 9 values
    [InlineData(1, 64, "avx512_mr12_nr32", 1, 1)]  // two 512-bit panels
    public void A_first_layer_with_one_panel_of_outputs_or_short_kernel_rows_reads_its_windows_from_a_band(int threads, int outC, string tactic, int stride, int dilation)
    {
        // A stem's shape (3 channels, 3×3, padded) twice over the same input, batch 2: the second adds the first as its
        // residual, then HardSwish (applied after the tile, not in registers).
        var c = new OperatorCase().Input("x", 2, 3, 61, 58).Weight("w1", outC, 3, 3, 3).Weight("b1", outC).Weight("w2", outC, 3, 3, 3);
        (string, object)[] attributes = [("strides", new long[] { stride, stride }), ("pads", new long[] { 1, 2, 2, 1 }), ("dilations", new long[] { dilation, dilation })];
        c.Model.AddNode("Conv", ["x", "w1", "b1"], ["h1"], attributes);
        c.Model.AddNode("Conv", ["x", "w2"], ["h2"], attributes);
        c.Model.AddNode("Add", ["h2", "h1"], ["s"]);
        c.Model.AddNode("HardSwish", ["s"], ["r"]);
        c.LeaveRegion("r", "y").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = threads, ForceTactic = tactic, OptimizationLevel = 0 });
        AssertChannelsLast(c.Plan!);
        Assert.Contains(c.Plan!.Layers.OfType<ConvLayer>(), conv => !conv.Residual.IsNone && conv.Activation.Kind == ActivationKind.HardSwish);
        var forced = GemmKernels.Tactics.First(t => t.Name == tactic);
        SkipUnlessBandKernels(forced);
        Assert.True(GemmJob.CanReadWindows(forced, 27, outC, 9), "the GEMM would unfold");
    }

    [SkippableTheory]
    [InlineData(1, 3, 16, "packed_mr6_nr16", 2, 61, 58)]    // an RGB stem: three planes interleaved eight pixels at a time
    [InlineData(2, 3, 24, "avx512_mr12_nr32", 1, 61, 58)]   // 512-bit, where the CPU has it
    [InlineData(2, 1, 16, "packed_mr6_nr16", 2, 40, 45)]    // one plane
    [InlineData(3, 4, 12, "packed_mr4_nr16", 1, 37, 50)]    // four planes, a plane at a time; a partial panel
    [InlineData(2, 3, 16, "packed_mr6_nr16", 2, 9, 700)]    // a row's band outgrows the slot: unfolded from the planes block by block
    [InlineData(1, 3, 16, "packed_mr6_nr16", 1, 9, 11)]     // few pixels: the whole image unfolded from the planes
    public void A_first_layer_that_reads_its_band_reads_the_input_planes_without_a_reformat(int threads, int inC, int outC, string tactic, int stride, int h, int w)
    {
        var c = new OperatorCase().Input("x", 2, inC, h, w).Weight("w", outC, inC, 3, 3).Weight("b", outC);
        c.Model.AddNode("Conv", ["x", "w", "b"], ["h"], ("strides", new long[] { stride, stride }), ("pads", new long[] { 1, 2, 2, 1 }));
        c.Model.AddNode("Relu", ["h"], ["r"]);
        c.LeaveRegion("r", "y").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = threads, ForceTactic = tactic, OptimizationLevel = 0 });
        SkipUnlessBandKernels(GemmKernels.Tactics.First(t => t.Name == tactic));
        Assert.True(Assert.Single(c.Plan!.Layers.OfType<ConvLayer>()).PlanarInput);
        Assert.DoesNotContain(c.Plan!.Layers, l => l is ReformatLayer { ToChannelsLast: true });
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_stem_read_from_the_input_planes_equals_the_reformatted_one_bit_for_bit_alone_and_fused(int threads)
    {
        SkipUnlessBandKernels(GemmKernels.Tactics.First(t => t.Name == "packed_mr6_nr16"));
        // An RGB stem 3×3 stride 2 → Relu, then a depthwise 3×3 and a 1×1 projection (fused as an inverted residual
        // whose expansion is the stem), beside a second stem → max pool (fused as a conv-pool layer) on another input.
        var c = new OperatorCase().Input("x", 2, 3, 45, 37).Input("x2", 2, 3, 45, 37).Weight("w", 16, 3, 3, 3).Weight("dw", 16, 1, 3, 3)
            .Weight("pw", 8, 16, 1, 1).Weight("w2", 16, 3, 3, 3);
        (string, object)[] stem = [("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 })];
        c.Model.AddNode("Conv", ["x", "w"], ["s"], stem);
        c.Model.AddNode("Relu", ["s"], ["r"]);
        c.Model.AddNode("Conv", ["r", "dw"], ["d"], ("group", 16L), ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["d", "pw"], ["p"]);
        c.Model.AddNode("Conv", ["x2", "w2"], ["s2"], stem);
        c.Model.AddNode("MaxPool", ["s2"], ["m"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }));
        c.LeaveRegion("p", "y").LeaveRegion("m", "y2");
        var network = OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");
        var config = new BuilderConfig { Threads = threads, OptimizationLevel = 0, ForceTactic = "packed_mr6_nr16", FuseInvertedResiduals = true, FuseConvPools = true };
        var planar = EngineBuilder.Build(network, config);
        var reformatted = EngineBuilder.Build(network, config with { ReadPlanarInputs = false });
        Assert.True(Assert.Single(planar.Plan.Layers.OfType<FusedInvertedResidualLayer>()).Expand.PlanarInput);
        Assert.True(Assert.Single(planar.Plan.Layers.OfType<FusedConvPoolLayer>()).Conv.PlanarInput);
        Assert.DoesNotContain(planar.Plan.Layers, l => l is ReformatLayer { ToChannelsLast: true });
        Assert.Equal(2, reformatted.Plan.Layers.Count(l => l is ReformatLayer { ToChannelsLast: true }));
        float[][] inputs = [ErrorMetrics.RandomValues(7, 2 * 3 * 45 * 37), ErrorMetrics.RandomValues(8, 2 * 3 * 45 * 37)];
        float[][] expected = Run(reformatted, inputs);
        Assert.Equal(expected, Run(planar, inputs));
        var imported = Native.Runtime.Engine.Deserialize(planar.Serialize(includeWeights: true));
        Assert.True(imported.Plan.Layers.OfType<FusedConvPoolLayer>().Single().Conv.PlanarInput);
        Assert.Equal(expected, Run(imported, inputs));
    }

    [Fact]
    public void A_plan_whose_depthwise_convolution_reads_a_planar_input_is_refused()
    {
        // Only a one-group im2col GEMM reads its input's planes; another kernel would read them as HWC pixels.
        var c = new OperatorCase().Input("x", 1, 8, 9, 7).Weight("w", 8, 1, 3, 3);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("group", 8L), ("pads", new long[] { 1, 1, 1, 1 }));
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.LeaveRegion("h").Model.ToBytes(), null), "m"), new BuilderConfig { OptimizationLevel = 0 });
        Assert.Single(engine.Plan.Layers.OfType<ConvLayer>()).PlanarInput = true;
        var error = Assert.Throws<PlanFormatException>(() => Native.Runtime.Engine.Deserialize(engine.Serialize(includeWeights: false)));
        Assert.Contains("reads a planar input", error.Message, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("packed_mr6_nr16", 3, 16, 3, 2, "HardSwish", 1)]        // MobileNetV3's stem: one 16-wide panel
    [InlineData("packed_mr6_nr16_kc256", 3, 32, 3, 2, "Relu", 2)]       // two panels
    [InlineData("avx512_mr12_nr32", 3, 32, 3, 2, "Sigmoid", 3)]         // 32 columns in 512-bit vectors (AVX-512 hosts); the activation after the store
    [InlineData("packed_mr4_nr16", 4, 48, 5, 1, "HardSwish", 2)]        // stride 1, 5×5, four planes, three panels
    [InlineData("packed_mr6_nr16", 3, 64, 7, 2, "Relu", 2)]             // a 7×7 stem
    [InlineData("packed_mr6_nr16", 1, 16, 3, 2, "", 1)]                 // one plane, no activation
    [InlineData("packed_mr6_nr16", 3, 24, 3, 2, "Relu", 2)]             // a partial panel: its pixels all from the band
    public void Pixels_read_from_the_input_planes_in_place_have_the_bits_of_the_band(string tactic, int inC, int outC, int kernel, int stride,
        string activation, int threads)
    {
        // The pixels whose windows lie inside the image are read from its planes, the others (padding) from the band:
        // each output must be what the band path over the reformatted input gives, bit for bit. The image is large enough
        // for the convolution to read its windows by row blocks on three threads (smaller ones unfold it whole).
        var c = new OperatorCase().Input("x", 2, inC, 75, 97).Weight("w", outC, inC, kernel, kernel).Weight("b", outC);
        int pad = kernel / 2;
        c.Model.AddNode("Conv", ["x", "w", "b"], [activation == "" ? "r" : "h"], ("strides", new long[] { stride, stride }), ("pads", new long[] { pad, pad + 1, pad, pad - 1 }));
        if (activation != "") c.Model.AddNode(activation, ["h"], ["r"]);
        c.LeaveRegion("r", "y");
        var network = OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");
        var config = new BuilderConfig { Threads = threads, OptimizationLevel = 0, ForceTactic = tactic };
        SkipUnlessBandKernels(GemmKernels.Tactics.First(t => t.Name == tactic));
        var planar = EngineBuilder.Build(network, config);
        var reformatted = EngineBuilder.Build(network, config with { ReadPlanarInputs = false });
        Assert.True(Assert.Single(planar.Plan.Layers.OfType<ConvLayer>()).PlanarInput);
        float[][] inputs = [ErrorMetrics.RandomValues(outC + kernel, 2 * inC * 75 * 97)];
        Assert.Equal(Run(reformatted, inputs, [2, inC, 75, 97]), Run(planar, inputs, [2, inC, 75, 97]));
    }

    /// <summary>A CPU without the band kernels for a tactic's panels (no AVX2 and FMA, or no AVX-512 for a 512-bit one) unfolds every window.</summary>
    private static void SkipUnlessBandKernels(GemmTactic tactic) =>
        Skip.IfNot(GemmMicroKernels.ReadsWindows(tactic.Wide, tactic.Nr), $"this CPU has no kernel that reads windows from a band for {tactic.Name}");

    private static float[][] Run(Native.Runtime.Engine engine, float[][] inputs, int[]? shape = null)
    {
        var context = engine.CreateExecutionContext();
        for (int i = 0; i < inputs.Length; i++) context.SetInputShape(i, shape ?? [2, 3, 45, 37]);
        float[][] outputs = engine.Plan.Outputs.Select((_, i) => new float[context.GetOutputShape(i).Aggregate(1L, (a, d) => a * d)]).ToArray();
        context.Execute(inputs, outputs);
        return outputs;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(24)]
    public void Depthwise_and_pointwise_with_residual_and_clip(int groups)
    {
        // MobileNetV2's block: expand, depthwise, project, residual add; Clip (ReLU6) fused into each convolution.
        var c = new OperatorCase().Input("x", 2, 24, 9, 10).Weight("w1", 24, 24 / groups, 3, 3).Weight("b1", 24).Weight("w2", 24, 24, 1, 1).Weight("b2", 24);
        c.Model.AddNode("Conv", ["x", "w1", "b1"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", (long)groups));
        c.Model.AddNode("Clip", ["h"], ["r"], ("min", 0f), ("max", 6f));
        c.Model.AddNode("Conv", ["r", "w2", "b2"], ["g"]);
        c.Model.AddNode("Add", ["g", "x"], ["s"]);
        c.Model.Opset = 10;
        c.LeaveRegion("s", "y").AssertMatchesOnnxRuntime();
        AssertChannelsLast(c.Plan!);
        Assert.Contains(c.Plan!.Layers, l => l is ConvLayer { Residual.IsNone: false });
    }

    [Theory]
    [InlineData("MaxPool", 3, 2, 0, 1, 0)]
    [InlineData("MaxPool", 2, 2, 1, 0, 0)]
    [InlineData("AveragePool", 3, 1, 1, 0, 0)]
    [InlineData("AveragePool", 3, 2, 1, 0, 1)]
    [InlineData("AveragePool", 3, 2, 1, 1, 1)]
    [InlineData("GlobalAveragePool", 0, 0, 0, 0, 0)]
    [InlineData("GlobalMaxPool", 0, 0, 0, 0, 0)]
    // Rows wide enough for several four-pixel blocks between the padded edges.
    [InlineData("MaxPool", 3, 2, 0, 1, 0, 29)] // SqueezeNet's pool
    [InlineData("MaxPool", 3, 1, 1, 0, 0, 29)]
    [InlineData("AveragePool", 3, 2, 1, 0, 0, 29)]
    [InlineData("AveragePool", 3, 1, 1, 1, 1, 29)]
    public void Pool_after_a_convolution(string op, int k, int stride, int pad, int ceil, int countIncludePad, int width = 11)
    {
        var c = new OperatorCase().Input("x", 2, 5, 12, width).Weight("w", 27, 5, 3, 3); // 27 = 16 + 8 + 3 lanes
        c.Model.AddNode("Conv", ["x", "w"], ["h"]);
        if (op.StartsWith("Global", StringComparison.Ordinal))
            c.Model.AddNode(op, ["h"], ["p"]);
        else
            c.Model.AddNode(op, ["h"], ["p"], ConvolutionTests.PoolAttributes(op, k, stride, pad, ceil, countIncludePad));
        c.LeaveRegion("p", "y").AssertMatchesOnnxRuntime();
        Assert.Contains(c.Plan!.Layers, l => l is PoolLayer { ChannelsLast: true });
    }

    [Fact]
    public void Fire_module_concat_joins_channels()
    {
        // SqueezeNet's fire module: squeeze 1×1, expand 1×1 and 3×3, concat along channels, then max pool.
        var c = new OperatorCase().Input("x", 2, 12, 9, 9).Weight("ws", 5, 12, 1, 1).Weight("we1", 11, 5, 1, 1).Weight("we3", 13, 5, 3, 3);
        c.Model.AddNode("Conv", ["x", "ws"], ["s0"]);
        c.Model.AddNode("Relu", ["s0"], ["s"]);
        c.Model.AddNode("Conv", ["s", "we1"], ["e1"]);
        c.Model.AddNode("Conv", ["s", "we3"], ["e3"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Concat", ["e1", "e3"], ["cat"], ("axis", 1L));
        c.Model.AddNode("MaxPool", ["cat"], ["p"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("ceil_mode", 1L));
        c.LeaveRegion("p", "y").AssertMatchesOnnxRuntime();
        Assert.Contains(c.Plan!.Layers, l => l is ConcatLayer { ChannelsLast: true });
        Assert.Equal(2, c.Plan!.Layers.Count(l => l is ReformatLayer)); // at the input and in front of the Mul only
    }

    [Fact]
    public void Squeeze_excitation_scales_channels_without_reformats()
    {
        // EfficientNet's block: a per-channel scale from pooled features, broadcast over H and W, and a [C, 1, 1] offset.
        var c = new OperatorCase().Input("x", 2, 20, 9, 7).Weight("w", 20, 20, 3, 3).Weight("wr", 5, 20, 1, 1).Weight("we", 20, 5, 1, 1).Weight("shift", 20, 1, 1);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("GlobalAveragePool", ["h"], ["g"]);
        c.Model.AddNode("Conv", ["g", "wr"], ["r"]);
        c.Model.AddNode("Relu", ["r"], ["rr"]);
        c.Model.AddNode("Conv", ["rr", "we"], ["e"]);
        c.Model.AddNode("Sigmoid", ["e"], ["s"]);
        c.Model.AddNode("Mul", ["h", "s"], ["m"]);
        c.Model.AddNode("Add", ["m", "shift"], ["a"]);
        c.LeaveRegion("a", "y").AssertMatchesOnnxRuntime();
        Assert.Equal(2, c.Plan!.Layers.OfType<ElementwiseLayer>().Count(l => l.ChannelsLast));
        Assert.Equal(InputReformats(c.Plan!) + 1, c.Plan!.Layers.Count(l => l is ReformatLayer)); // at the input and in front of the Mul by 1 only
    }

    [Theory]
    [InlineData("avx512_mr12_nr32")]
    [InlineData("packed_mr6_nr16")]
    public void Outputs_larger_than_the_caches_keep_are_streamed_and_match(string tactic)
    {
        // A stem-like 3×3 stride-2 convolution (unfolded per row block) and a 1×1 after it, batch 2, each writing 6.6M
        // floats: past GemmJob.StreamOutputFloats, so the 512-bit tactic streams its tiles; the 256-bit one stores them.
        var c = new OperatorCase().Input("x", 2, 3, 640, 640).Weight("w1", 32, 3, 3, 3).Weight("b1", 32).Weight("w2", 32, 32, 1, 1);
        c.Model.AddNode("Conv", ["x", "w1", "b1"], ["h"], ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Relu", ["h"], ["r"]);
        c.Model.AddNode("Conv", ["r", "w2"], ["g"]);
        c.Model.AddNode("Relu", ["g"], ["s"]);
        Assert.True(2L * 32 * 320 * 320 > GemmJob.StreamOutputFloats);
        c.LeaveRegion("s", "y").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = 2, ForceTactic = tactic, OptimizationLevel = 0 });
        Assert.All(c.Plan!.Layers.OfType<ConvLayer>(), conv => Assert.Equal(tactic, conv.Tactic));
        AssertChannelsLast(c.Plan!);
    }

    public static TheoryData<string> TacticNames => new(GemmKernels.Tactics.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(TacticNames))]
    public void Every_gemm_tactic_runs_each_channels_last_convolution(string tactic)
    {
        // Forced, so a tactic timing never picks is verified too: 1×1, 3×3 im2col, with residual and Relu.
        var c = new OperatorCase().Input("x", 2, 10, 9, 7).Weight("w1", 37, 10, 3, 3).Weight("b1", 37).Weight("w2", 10, 37, 1, 1);
        c.Model.AddNode("Conv", ["x", "w1", "b1"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Relu", ["h"], ["r"]);
        c.Model.AddNode("Conv", ["r", "w2"], ["g"]);
        c.Model.AddNode("Add", ["g", "x"], ["s"]);
        c.LeaveRegion("s", "y").AssertMatchesOnnxRuntime(new BuilderConfig { ForceTactic = tactic });
        Assert.All(c.Plan!.Layers.OfType<ConvLayer>(), conv => Assert.Equal(tactic, conv.Tactic));
        AssertChannelsLast(c.Plan!);
    }

    /// <summary>x [batch, 24, size, size] → 3×3 conv to 48 channels → depthwise k×k (same size) → 1×1 conv to 40 → "d".</summary>
    private static OperatorCase ConvChain(int batch, int size, int depthwiseKernel)
    {
        long pad = depthwiseKernel / 2;
        var c = new OperatorCase().Input("x", batch, 24, size, size).Weight("w1", 48, 24, 3, 3).Weight("w2", 48, 1, depthwiseKernel, depthwiseKernel)
            .Weight("w3", 40, 48, 1, 1);
        c.Model.AddNode("Conv", ["x", "w1"], ["a"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["a", "w2"], ["b"], ("pads", new[] { pad, pad, pad, pad }), ("group", 48L));
        c.Model.AddNode("Conv", ["b", "w3"], ["d"]);
        return c;
    }

    [Fact]
    public void Outputs_do_not_depend_on_the_thread_count()
    {
        // Every output element is summed by one thread in one order, however the work is shared out. The 3×3 runs Winograd
        // (the heuristic's choice under a forced tactic), the depthwise its direct kernel, the 1×1 a GEMM.
        var c = ConvChain(2, 30, 3);
        c.Model.AddNode("MaxPool", ["d"], ["p"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        c.LeaveRegion("p", "y");
        AssertSameAtEveryThreadCount(c, ErrorMetrics.RandomValues(9, 2 * 24 * 30 * 30), [ConvAlgorithm.Winograd4x4, ConvAlgorithm.Depthwise, ConvAlgorithm.PointwiseGemm]);
    }

    /// <summary>
    /// Builds the case's model for 1, 2 and 3 threads: its convolutions must run <paramref name="algorithms"/> and the
    /// outputs on <paramref name="x"/> must be identical.
    /// </summary>
    private static void AssertSameAtEveryThreadCount(OperatorCase c, float[] x, ConvAlgorithm[] algorithms)
    {
        var model = OnnxModel.Parse(c.Model.ToBytes(), null);
        float[] Run(int threads)
        {
            var engine = EngineBuilder.Build(OnnxImporter.Import(model, "m"), new BuilderConfig { Threads = threads, ForceTactic = "avx512_mr12_nr32" });
            Assert.Equal(algorithms, engine.Plan.Layers.OfType<ConvLayer>().Select(l => l.Algorithm));
            var context = engine.CreateExecutionContext();
            var y = new float[context.GetOutputShape(0).Aggregate(1, (a, d) => a * d)];
            context.Execute([x], [y]);
            return y;
        }
        float[] one = Run(1);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(3));
    }

    /// <summary>
    /// A convolution and then, on its small output, a depthwise convolution (SiLU, Relu6 or none, a residual or none) or
    /// a pool, on 2 or 3 threads: an image of a few rows shares out slices of its channels too, and every slice and
    /// activation path must give ONNX Runtime's outputs.
    /// </summary>
    [Theory]
    [InlineData("silu", 5, 1, 96, 7, 2)]     // EfficientNet's 7×7 blocks: 96 channels in two slices of 48 → 64 + 32
    [InlineData("silu", 3, 1, 40, 7, 3)]     // 40 = 32 + 8: a slice ending in 256-bit lanes
    [InlineData("relu6", 3, 2, 72, 8, 2)]    // stride 2 onto 4 rows
    [InlineData("none", 5, 1, 44, 1, 2)]     // one row: 44 = 32 + 12 (scalar lanes in the last slice)
    [InlineData("silu", 5, 2, 40, 3, 3)]     // a 5×5 stride-2 window wider than the 3×3 image: padding on both sides
    [InlineData("residual", 3, 1, 64, 4, 3)]
    [InlineData("MaxPool", 3, 1, 40, 5, 2)]
    [InlineData("AveragePool", 3, 2, 48, 7, 3)]
    public void Small_images_share_their_channels_out_over_the_threads(string kind, int k, int stride, int channels, int size, int threads)
    {
        var c = new OperatorCase().Input("x", 1, 5, size, size).Weight("w", channels, 5, 3, 3).Weight("dw", channels, 1, k, k).Weight("b", channels);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        (string, object)[] window = [("kernel_shape", new long[] { k, k }), ("strides", new long[] { stride, stride }), ("pads", new long[] { k / 2, k / 2, k / 2, k / 2 })];
        if (kind.EndsWith("Pool", StringComparison.Ordinal))
            c.Model.AddNode(kind, ["h"], ["out"], window);
        else
        {
            c.Model.AddNode("Conv", ["h", "dw", "b"], [kind == "none" ? "out" : "d"], [.. window, ("group", (long)channels)]);
            if (kind == "silu")
            {
                c.Model.AddNode("Sigmoid", ["d"], ["s"]);
                c.Model.AddNode("Mul", ["d", "s"], ["out"]);
            }
            else if (kind == "relu6")
            {
                c.Model.AddInitializer("low", [0f], []);
                c.Model.AddInitializer("high", [6f], []);
                c.Model.AddNode("Clip", ["d", "low", "high"], ["out"]);
            }
            else if (kind == "residual")
                c.Model.AddNode("Add", ["d", "h"], ["out"]);
        }
        c.LeaveRegion("out", "y").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = threads, FuseInvertedResiduals = false, FuseConvPools = false });
        if (kind.EndsWith("Pool", StringComparison.Ordinal))
            Assert.Contains(c.Plan!.Layers, l => l is PoolLayer { ChannelsLast: true });
        else
            Assert.Contains(c.Plan!.Layers, l => l is ConvLayer { Algorithm: ConvAlgorithm.Depthwise, ChannelsLast: true });
    }

    /// <summary>
    /// Global pools and a mean over H and W large enough to share their channels out (40 = 32 + 8, 64 = 32 + 32) give
    /// ONNX Runtime's outputs, and the same bits at 1, 2 and 3 threads: each channel is summed by one thread in pixel order.
    /// </summary>
    [Theory]
    [InlineData("GlobalAveragePool", 40)]
    [InlineData("GlobalMaxPool", 64)]
    [InlineData("ReduceMean", 40)]
    public void Global_pools_share_their_channels_out_over_the_threads(string op, int channels)
    {
        var c = new OperatorCase().Input("x", 2, 6, 44, 44).Weight("w", channels, 6, 3, 3);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        if (op == "ReduceMean")
            c.Model.AddNode(op, ["h"], ["p"], ("axes", new long[] { 2, 3 }), ("keepdims", 1L));
        else
            c.Model.AddNode(op, ["h"], ["p"]);
        Assert.True(2L * 44 * 44 * channels >= 1 << 16, "too little work to share out");
        c.LeaveRegion("p", "y").AssertMatchesOnnxRuntime(new BuilderConfig { Threads = 2 });
        Assert.Contains(c.Plan!.Layers, l => l is PoolLayer { ChannelsLast: true, Global: true } or ReduceLayer { ChannelsLast: true });
        AssertSameAtEveryThreadCount(c, ErrorMetrics.RandomValues(4, 2 * 6 * 44 * 44), [ConvAlgorithm.Im2ColGemm]);
    }

    [Theory]
    [InlineData(1, 7, 2, 1152, 2)]  // 14 pieces for 2 threads
    [InlineData(1, 1, 2, 44, 2)]    // as many as 44 channels allow: 32 + 12
    [InlineData(1, 4, 3, 64, 2)]    // three slices would be 22 channels: two of 32
    [InlineData(2, 7, 3, 96, 1)]    // 14 rows are enough
    [InlineData(1, 14, 2, 672, 1)]
    [InlineData(1, 7, 2, 20, 1)]    // too few channels to slice
    [InlineData(0, 7, 2, 64, 1)]    // empty tensors: one piece, nothing divided by zero
    [InlineData(1, 0, 2, 64, 1)]
    [InlineData(1, 7, 2, 0, 1)]
    public void Channel_slices_cover_the_channels_in_whole_vectors(int batch, int rows, int threads, int channels, int expected)
    {
        var (slices, width) = ChannelsLastWindowJob.Slices(new Window2D(batch, channels, rows, rows, rows, rows, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), threads);
        Assert.Equal(expected, slices);
        if (channels > 0)
            Assert.True((width % 16 == 0 || slices == 1) && (slices - 1) * width < channels && slices * width >= channels, $"{slices} slices of {width}");
    }

    [Fact]
    public void A_small_image_gives_the_same_outputs_at_every_thread_count()
    {
        // 7×7 rows, sliced by channels on 2 and 3 threads: each output is still summed by one thread in one order.
        var c = ConvChain(1, 7, 5);
        c.LeaveRegion("d", "y");
        AssertSameAtEveryThreadCount(c, ErrorMetrics.RandomValues(9, 24 * 7 * 7), [ConvAlgorithm.Winograd2x2, ConvAlgorithm.Depthwise, ConvAlgorithm.PointwiseGemm]);
    }

    [Theory]
    [InlineData("ReduceMean", 0L)]
    [InlineData("ReduceMean", 1L)]
    [InlineData("ReduceMax", 0L)]
    public void Reduce_over_h_and_w_ends_the_region_without_a_reformat(string op, long keepDims)
    {
        // ShuffleNet's head: a mean over H and W of the last convolution, then the classifier.
        var c = new OperatorCase().Input("x", 2, 5, 7, 6).Weight("w", 21, 5, 3, 3);
        c.Model.AddNode("Conv", ["x", "w"], ["h"]);
        c.Model.AddNode(op, ["h"], ["r"], ("axes", new long[] { 2, 3 }), ("keepdims", keepDims));
        c.LeaveRegion("r", "y").AssertMatchesOnnxRuntime();
        Assert.Contains(c.Plan!.Layers, l => l is ReduceLayer { ChannelsLast: true });
        Assert.Equal(InputReformats(c.Plan!), c.Plan!.Layers.Count(l => l is ReformatLayer)); // at the input only
    }

    [Fact]
    public void Squeeze_excitation_shuffle_and_head_give_the_same_outputs_at_every_thread_count()
    {
        // Squeeze-excitation, a concat, a channel shuffle and a mean over H and W between convolutions that share
        // their work out over the threads.
        var c = new OperatorCase().Input("x", 2, 24, 30, 30).Weight("w1", 48, 24, 3, 3).Weight("w2", 24, 48, 1, 1).Weight("w3", 24, 48, 1, 1);
        c.Model.AddNode("Conv", ["x", "w1"], ["a"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("GlobalAveragePool", ["a"], ["g"]);
        c.Model.AddNode("Sigmoid", ["g"], ["s"]);
        c.Model.AddNode("Mul", ["a", "s"], ["m"]);
        c.Model.AddNode("Conv", ["m", "w2"], ["e1"]);
        c.Model.AddNode("Conv", ["m", "w3"], ["e3"]);
        c.Model.AddNode("Concat", ["e1", "e3"], ["cat"], ("axis", 1L));
        c.Model.AddInitializer("split", new long[] { -1, 3, 16, 30, 30 }, [5]);
        c.Model.AddInitializer("back", new long[] { -1, 48, 30, 30 }, [4]);
        c.Model.AddNode("Reshape", ["cat", "split"], ["sr"]);
        c.Model.AddNode("Transpose", ["sr"], ["st"], ("perm", new long[] { 0, 2, 1, 3, 4 }));
        c.Model.AddNode("Reshape", ["st", "back"], ["sh"]);
        c.Model.AddNode("ReduceMean", ["sh"], ["r"], ("axes", new long[] { 2, 3 }), ("keepdims", 0L));
        c.LeaveRegion("r", "y").AssertMatchesOnnxRuntime();
        Assert.Contains(c.Plan!.Layers, l => l is ChannelShuffleLayer { ChannelsLast: true });
        AssertSameAtEveryThreadCount(c, ErrorMetrics.RandomValues(9, 2 * 24 * 30 * 30), [ConvAlgorithm.Winograd4x4, ConvAlgorithm.PointwiseGemm, ConvAlgorithm.PointwiseGemm]);
    }

    [Fact]
    public void The_nchw_kernels_still_match_when_channels_last_is_off()
    {
        var c = new OperatorCase().Input("x", 2, 24, 9, 10).Weight("w1", 24, 1, 3, 3).Weight("w2", 16, 24, 1, 1);
        c.Model.AddNode("Conv", ["x", "w1"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 24L));
        c.Model.AddNode("Conv", ["h", "w2"], ["g"]);
        c.Model.AddNode("MaxPool", ["g"], ["p"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        c.LeaveRegion("p", "y").AssertMatchesOnnxRuntime(new BuilderConfig { ChannelsLast = false });
        Assert.DoesNotContain(c.Plan!.Layers, l => l is ReformatLayer || l is ConvLayer { ChannelsLast: true });
    }

    [Fact]
    public void Refit_repacks_batchnorm_folded_weights_exactly()
    {
        // Built on v1, refitted with v2: the packed, BatchNorm-folded weights equal a build on v2, and ONNX Runtime on v2.
        using var dir = new TempDirectory();
        string v1 = dir.File("v1.onnx"), v2 = dir.File("v2.onnx");
        foreach (var (path, seed) in new[] { (v1, 1), (v2, 2) })
        {
            var c = new OperatorCase().Input("x", 1, 6, 8, 8);
            c.Model.AddInitializer("w", ErrorMetrics.RandomValues(seed, 9 * 6 * 9), [9, 6, 3, 3]);
            c.Model.AddInitializer("dw", ErrorMetrics.RandomValues(seed + 10, 9 * 9), [9, 1, 3, 3]);
            foreach (string p in new[] { "gamma", "beta", "mean" }) c.Model.AddInitializer(p, ErrorMetrics.RandomValues(seed + p.Length, 9), [9]);
            c.Model.AddInitializer("var", ErrorMetrics.RandomValues(seed + 20, 9).Select(v => 0.5f + Math.Abs(v)).ToArray(), [9]);
            c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
            c.Model.AddNode("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], ["n"]);
            c.Model.AddNode("Conv", ["n", "dw"], ["d"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 9L));
            c.LeaveRegion("d", "y");
            c.Model.Save(path);
        }
        // Both builds untimed, so both run the same algorithm: Winograd and im2col differ by about 1e-6 in rounding.
        var engine = EngineConverter.Convert(v1, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        Assert.Contains(engine.Native.Plan.Weights, w => w.Recipe is { Kind: RecipeKind.PackConv, Sources.Length: 3 });
        engine.Refit(WeightSources.FromFile(v2));
        var fresh = EngineConverter.Convert(v2, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });

        float[] x = ErrorMetrics.RandomValues(5, 6 * 8 * 8);
        var feeds = new Dictionary<string, float[]> { ["x"] = x };
        var shapes = new Dictionary<string, int[]> { ["x"] = [1, 6, 8, 8] };
        float[] refitted = engine.Run(feeds, shapes)[0].Data, built = fresh.Run(feeds, shapes)[0].Data;
        var expected = OrtOracle.Run(File.ReadAllBytes(v2), new Dictionary<string, (int[], float[])> { ["x"] = ([1, 6, 8, 8], x) })["y"].Data;
        Assert.True(ErrorMetrics.RelativeL2(refitted, expected) <= 1e-5, $"refitted vs ONNX Runtime: {ErrorMetrics.RelativeL2(refitted, expected):E2}");
        Assert.True(ErrorMetrics.RelativeL2(refitted, built) <= 1e-6, $"refitted vs built on v2: {ErrorMetrics.RelativeL2(refitted, built):E2}");
    }
}
