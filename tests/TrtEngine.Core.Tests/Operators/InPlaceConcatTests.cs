using TrtEngine.Core.Conversion;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Tests.Models;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// Convolutions that write straight into the channels-last concat joining their outputs (SqueezeNet's fire modules)
/// against ONNX Runtime, relative L2 ≤ 1e-5, under every convolution algorithm and GEMM tactic; where the builder keeps
/// the copy instead; and the decision's place in the plan: recorded, validated, round-tripped, shown.
/// </summary>
public sealed class InPlaceConcatTests
{
    /// <summary>
    /// x → squeeze 1×1 + Relu → expand 1×1 and expand 3×3 (pad 1), each + bias + Relu → Concat → "cat". Channel counts
    /// are odd so GEMM panels and vector lanes end inside each output's channel range.
    /// </summary>
    private static OperatorCase Fire(OperatorCase c, string x, int inC, int squeeze = 5, int expand1 = 11, int expand3 = 13)
    {
        c.Weight("ws", squeeze, inC, 1, 1).Weight("bs", squeeze).Weight("we1", expand1, squeeze, 1, 1).Weight("be1", expand1)
            .Weight("we3", expand3, squeeze, 3, 3).Weight("be3", expand3);
        c.Model.AddNode("Conv", [x, "ws", "bs"], ["s0"]);
        c.Model.AddNode("Relu", ["s0"], ["s"]);
        c.Model.AddNode("Conv", ["s", "we1", "be1"], ["e1"]);
        c.Model.AddNode("Relu", ["e1"], ["r1"]);
        c.Model.AddNode("Conv", ["s", "we3", "be3"], ["e3"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Relu", ["e3"], ["r3"]);
        c.Model.AddNode("Concat", ["r1", "r3"], ["cat"], ("axis", 1L));
        return c;
    }

    private static OperatorCase FireCase(int batch = 2, int h = 9, int w = 10) => Fire(new OperatorCase().Input("x", batch, 7, h, w), "x", 7).LeaveRegion("cat");

    private static ConcatLayer Concat(EnginePlan plan) => Assert.Single(plan.Layers.OfType<ConcatLayer>());

    private static Engine Build(OperatorCase c, BuilderConfig config) => EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"), config);

    private static float[] Run(Engine engine, float[] x)
    {
        var context = engine.CreateExecutionContext();
        var y = new float[context.GetOutputShape(0).Aggregate(1, (a, d) => a * d)];
        context.Execute([x], [y]);
        return y;
    }

    [Theory]
    [InlineData(ConvAlgorithm.Winograd4x4)]
    [InlineData(ConvAlgorithm.Winograd3x3)]
    [InlineData(ConvAlgorithm.Winograd2x2)]
    [InlineData(ConvAlgorithm.Im2ColGemm)]
    [InlineData(ConvAlgorithm.PointwiseGemm)] // the 1×1 convolutions; the 3×3 one keeps its timed choice
    public void Fire_module_convolutions_write_into_the_concat_under_every_algorithm(ConvAlgorithm algorithm)
    {
        var c = FireCase();
        c.AssertMatchesOnnxRuntime(new BuilderConfig { ForceConvAlgorithm = algorithm, OptimizationLevel = 1 });
        var concat = Concat(c.Plan!);
        Assert.Equal([true, true], concat.InPlace);
        var convs = c.Plan!.Layers.OfType<ConvLayer>().ToArray();
        if (algorithm != ConvAlgorithm.PointwiseGemm) Assert.Equal(algorithm, convs.Single(l => l.KernelH == 3).Algorithm);
        Assert.All(convs, l => Assert.Equal(ActivationKind.Relu, l.Activation.Kind));
    }

    public static TheoryData<string> TacticNames => new(GemmKernels.Tactics.Where(t => t.IsSupported).Select(t => t.Name));

    [Theory]
    [MemberData(nameof(TacticNames))]
    public void Every_gemm_tactic_writes_its_column_range(string tactic)
    {
        // 20 and 37 output channels: full panels, then a right edge through the scratch tile, at both channel offsets.
        foreach (var algorithm in new[] { ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd3x3, ConvAlgorithm.Winograd2x2, ConvAlgorithm.Im2ColGemm })
        {
            var c = Fire(new OperatorCase().Input("x", 1, 6, 11, 9), "x", 6, squeeze: 9, expand1: 20, expand3: 37).LeaveRegion("cat");
            c.AssertMatchesOnnxRuntime(new BuilderConfig { ForceConvAlgorithm = algorithm, ForceTactic = tactic });
            Assert.Equal(2, Concat(c.Plan!).InPlaceCount);
        }
    }

    [Theory]
    [InlineData(1, ConvAlgorithm.Winograd4x4)]
    [InlineData(1, ConvAlgorithm.Winograd3x3)]
    [InlineData(1, ConvAlgorithm.Winograd2x2)]
    [InlineData(1, ConvAlgorithm.Im2ColGemm)]
    [InlineData(2, ConvAlgorithm.Im2ColGemm)] // and a strided 1×1 through im2col
    public void Convolutions_with_a_residual_write_in_place_too(int stride, ConvAlgorithm algorithm)
    {
        // A 3×3 convolution with a fused residual Add (read densely, written strided) and Relu, next to a 1×1 one.
        var c = new OperatorCase().Input("x", 2, 8, 10, 10).Weight("wa", 16, 8, 3, 3).Weight("wb", 12, 8, 1, 1);
        long[] strides = [stride, stride], pads = [1, 1, 1, 1];
        c.Model.AddNode("Conv", ["x", "wa"], ["a0"], ("pads", pads), ("strides", strides));
        c.Model.AddNode("Conv", ["x", "wa"], ["a1"], ("pads", pads), ("strides", strides));
        c.Model.AddNode("Add", ["a1", "a0"], ["a2"]);
        c.Model.AddNode("Relu", ["a2"], ["a"]);
        c.Model.AddNode("Conv", ["x", "wb"], ["b"], ("strides", strides));
        c.Model.AddNode("Concat", ["a", "b"], ["cat"], ("axis", 1L));
        c.LeaveRegion("cat").AssertMatchesOnnxRuntime(new BuilderConfig { ForceConvAlgorithm = algorithm, OptimizationLevel = 1 });
        Assert.Equal([true, true], Concat(c.Plan!).InPlace);
        var conv = Assert.Single(c.Plan!.Layers.OfType<ConvLayer>(), l => !l.Residual.IsNone);
        Assert.Equal(algorithm, conv.Algorithm);
    }

    [Fact]
    public void Three_inputs_take_in_place_only_those_a_convolution_writes_for_the_concat_alone()
    {
        // cat(e1, pool, e3, t): e1 and e3 qualify; the pool's output has no strided kernel; t is also read by the Add.
        var c = Fire(new OperatorCase().Input("x", 2, 7, 9, 10), "x", 7).Weight("wt", 4, 7, 1, 1);
        c.Model.AddNode("MaxPool", ["x"], ["p"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["x", "wt"], ["t"]);
        c.Model.AddNode("Concat", ["r1", "p", "r3", "t"], ["cat4"], ("axis", 1L));
        c.Model.AddNode("ReduceMean", ["t"], ["m"], ("axes", new long[] { 1 }), ("keepdims", 1L));
        c.LeaveRegion("cat4");
        c.LeaveRegion("m", "y2");
        c.AssertMatchesOnnxRuntime();
        var concat = c.Plan!.Layers.OfType<ConcatLayer>().Single(l => l.Inputs.Length == 4);
        Assert.Equal([true, false, true, false], concat.InPlace);
    }

    [Fact]
    public void A_concat_read_by_several_layers_and_fed_twice_by_one_tensor()
    {
        // The concat's output feeds a pool and a convolution; a second concat reads one tensor twice, so copies it.
        var c = Fire(new OperatorCase().Input("x", 1, 7, 8, 8), "x", 7).Weight("wn", 6, 24, 3, 3).Weight("wd", 5, 7, 1, 1);
        c.Model.AddNode("MaxPool", ["cat"], ["p"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        c.Model.AddNode("Conv", ["cat", "wn"], ["n"], ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["x", "wd"], ["d"], ("strides", new long[] { 2, 2 }));
        c.Model.AddNode("Concat", ["p", "n", "d", "d"], ["cat2"], ("axis", 1L));
        c.LeaveRegion("cat2").AssertMatchesOnnxRuntime();
        var concats = c.Plan!.Layers.OfType<ConcatLayer>().ToArray();
        Assert.Equal([true, true], concats[0].InPlace);
        Assert.Equal([false, true, false, false], concats[1].InPlace);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Dynamic_batch_runs_in_place_at_any_batch(int batch)
    {
        var c = Fire(new OperatorCase().BatchedInput("x", batch, 7, 9, 10), "x", 7).LeaveRegion("cat");
        c.AssertMatchesOnnxRuntime();
        Assert.Equal(2, Concat(c.Plan!).InPlaceCount);
    }

    [Fact]
    public void Dynamic_height_and_width_run_in_place()
    {
        var c = new OperatorCase().SymbolicInput("x", [1, 7, "h", "w"], [1, 7, 13, 6]);
        Fire(c, "x", 7).LeaveRegion("cat").AssertMatchesOnnxRuntime();
        Assert.Equal(2, Concat(c.Plan!).InPlaceCount);
    }

    [Fact]
    public void Planar_engines_keep_the_copy()
    {
        var c = FireCase();
        c.AssertMatchesOnnxRuntime(new BuilderConfig { ChannelsLast = false, OptimizationLevel = 0 });
        Assert.Equal(0, Concat(c.Plan!).InPlaceCount);
    }

    [Fact]
    public void The_plan_round_trip_keeps_the_concat_in_place_and_the_layer_info_shows_it()
    {
        var c = FireCase();
        c.RoundTripPlan = true;
        c.AssertMatchesOnnxRuntime();
        Assert.Equal([true, true], Concat(c.Plan!).InPlace);

        using var dir = new TempDirectory();
        c.Model.Save(dir.File("fire.onnx"));
        var engine = EngineConverter.Convert(dir.File("fire.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var layer = Assert.Single(TrtEngineInfo.From(engine).Layers, l => l.Name == Concat(engine.Native.Plan).Name);
        Assert.Equal("Concat (2 of 2 inputs written in place)", layer.Type);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var c = FireCase(batch: 2, h: 30, w: 30);
        float[] x = ErrorMetrics.RandomValues(3, 2 * 7 * 30 * 30);
        float[] Output(int threads, ConvAlgorithm algorithm)
        {
            var engine = Build(c, new BuilderConfig { Threads = threads, ForceConvAlgorithm = algorithm, ForceTactic = GemmKernels.Tactics.First(t => t.IsSupported).Name });
            Assert.Equal(2, Concat(engine.Plan).InPlaceCount);
            return Run(engine, x);
        }
        foreach (var algorithm in new[] { ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd3x3, ConvAlgorithm.Winograd2x2, ConvAlgorithm.Im2ColGemm })
        {
            float[] one = Output(1, algorithm);
            Assert.Equal(one, Output(2, algorithm));
            Assert.Equal(one, Output(3, algorithm));
        }
    }

    [Fact]
    public void In_place_and_copied_concats_give_the_same_values()
    {
        // The same convolutions and tactics with and without the copy: writing strided changes no rounding.
        var c = FireCase(batch: 2, h: 17, w: 12);
        float[] x = ErrorMetrics.RandomValues(8, 2 * 7 * 17 * 12);
        var engine = Build(c, new BuilderConfig { OptimizationLevel = 0 });
        float[] inPlace = Run(engine, x);
        Array.Fill(Concat(engine.Plan).InPlace, false);
        Assert.Equal(inPlace, Run(Engine.Deserialize(engine.Serialize(includeWeights: true)), x));
    }

    public static TheoryData<string> Corruptions => new() { "pool", "shared", "output", "planar", "depthwise", "flags" };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_plan_taking_an_input_in_place_that_cannot_be_written_there_is_refused(string corruption)
    {
        // cat(r1, r3, p, d): p is a pool's output; d a depthwise convolution's, also read by the second output's Mul.
        var c = Fire(new OperatorCase().Input("x", 1, 7, 8, 8), "x", 7).Weight("wd", 7, 1, 3, 3);
        c.Model.AddNode("MaxPool", ["x"], ["p"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["x", "wd"], ["d"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 7L));
        c.Model.AddNode("Concat", ["r1", "r3", "p", "d"], ["cat4"], ("axis", 1L));
        c.LeaveRegion("cat4");
        c.LeaveRegion("r3", "y2");
        var engine = Build(c, new BuilderConfig { OptimizationLevel = 0 });
        var concat = Concat(engine.Plan);
        Assert.Equal([true, false, false, false], concat.InPlace);
        var plan = engine.Plan;
        switch (corruption)
        {
            case "pool": concat.InPlace[2] = true; break;
            case "shared": concat.InPlace[1] = true; break; // r3 is also the second output's input
            case "depthwise": concat.InPlace[3] = true; break;
            case "output":
                // The Mul reading r3 goes: r3 becomes read by the concat alone, but it is still no tensor the caller may see.
                plan = new EnginePlan
                {
                    Name = plan.Name, Tensors = plan.Tensors, Inputs = plan.Inputs, InputTypes = plan.InputTypes, Profiles = plan.Profiles, Outputs = [.. plan.Outputs, concat.Inputs[0].Index], OutputTypes = [.. plan.OutputTypes, Native.Network.ElementType.Float32],
                    Layers = plan.Layers, Weights = plan.Weights, ModelWeights = plan.ModelWeights, Hardware = plan.Hardware, OptimizationLevel = plan.OptimizationLevel,
                };
                break;
            case "planar": concat.ChannelsLast = false; break;
            case "flags": concat.InPlace = [true, false]; break;
        }
        var error = Assert.Throws<PlanFormatException>(() => PlanValidator.Validate(plan));
        Assert.Contains($"Concat layer '{concat.Name}'", error.Message);
        if (corruption != "flags") Assert.Throws<PlanFormatException>(() => Engine.Deserialize(new Engine(plan, engine.CurrentState).Serialize(includeWeights: true)));
    }

    [SkippableFact]
    public void SqueezeNet_runs_every_fire_concat_in_place_and_matches_torch()
    {
        var engine = EngineConverter.Convert(TestPaths.SharedModel("squeezenet1_1_v1.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var concats = engine.Native.Plan.Layers.OfType<ConcatLayer>().ToArray();
        Assert.Equal(8, concats.Length);
        Assert.All(concats, l => Assert.Equal([true, true], l.InPlace));
        TorchAssert.Matches(engine, "squeezenet1_1_v1.ref.json.gz", 1e-4);
    }
}
