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
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// The Winograd F(4×4, 3×3), F(3×3, 3×3) and F(2×2, 3×3) convolutions (forced, so each is tested whatever timing would pick)
/// against ONNX Runtime, relative L2 ≤ 1e-5 (their reassociation costs about 1e-6 here, within the 1e-4 bound for
/// reassociating tactics), and the algorithms' place in the plan: chosen, recorded, validated and refitted.
/// </summary>
public sealed class WinogradTests
{
    private static readonly ConvAlgorithm[] Algorithms = [ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd3x3, ConvAlgorithm.Winograd2x2];

    private static BuilderConfig Forced(ConvAlgorithm algorithm) => new() { ForceConvAlgorithm = algorithm, OptimizationLevel = 1 };

    /// <summary>x [batch, inC, h, w] → 3×3 conv (+ bias) → y, then × 1 so the convolution stays channels-last.</summary>
    private static OperatorCase Conv(int batch, int inC, int outC, int h, int w, long[] pads)
    {
        var c = new OperatorCase().Input("x", batch, inC, h, w).Weight("w", outC, inC, 3, 3).Weight("b", outC);
        c.Model.AddNode("Conv", ["x", "w", "b"], ["h"], ("pads", pads));
        return c.LeaveRegion("h");
    }

    private static ConvLayer WinogradLayer(EnginePlan plan) =>
        Assert.Single(plan.Layers.OfType<ConvLayer>(), l => Algorithms.Contains(l.Algorithm));

    [Theory]
    [InlineData(1, 16, 16, 8, 8, 1, 1, 1, 1)]      // whole tiles of 4×4 and 2×2
    [InlineData(1, 16, 16, 9, 9, 1, 1, 1, 1)]      // whole tiles of 3×3
    [InlineData(1, 5, 7, 13, 11, 0, 0, 0, 0)]      // no pads; 11×9 outputs: the last tiles overhang (3×3 tiles in height only); channel tails only
    [InlineData(1, 48, 64, 13, 13, 1, 1, 1, 1)]    // SqueezeNet's 13×13 expand layers' shape
    [InlineData(2, 19, 40, 9, 10, 1, 1, 1, 1)]     // batch 2; 19 = 16 + 3 input, 40 = 32 + 8 output channels
    [InlineData(1, 24, 33, 15, 14, 0, 1, 2, 1)]    // asymmetric pads
    [InlineData(3, 8, 8, 6, 7, 2, 0, 1, 2)]        // pads wider than a tile's overlap, batch 3
    [InlineData(1, 64, 64, 30, 30, 1, 1, 1, 1)]    // a realistic layer: several blocks of tiles
    public void Matches_onnx_runtime(int batch, int inC, int outC, int h, int w, int top, int left, int bottom, int right)
    {
        foreach (var algorithm in Algorithms)
        {
            var c = Conv(batch, inC, outC, h, w, [top, left, bottom, right]);
            c.AssertMatchesOnnxRuntime(Forced(algorithm));
            Assert.Equal(algorithm, WinogradLayer(c.Plan!).Algorithm);
            Assert.True(WinogradLayer(c.Plan!).ChannelsLast);
        }
    }

    [Theory]
    [InlineData("Relu", ConvAlgorithm.Winograd4x4)]
    [InlineData("Clip", ConvAlgorithm.Winograd4x4)]
    [InlineData("Sigmoid", ConvAlgorithm.Winograd4x4)]
    [InlineData("Relu", ConvAlgorithm.Winograd2x2)]
    [InlineData("Clip", ConvAlgorithm.Winograd2x2)]
    [InlineData("Sigmoid", ConvAlgorithm.Winograd2x2)]
    [InlineData("Relu", ConvAlgorithm.Winograd3x3)]
    [InlineData("Clip", ConvAlgorithm.Winograd3x3)]
    [InlineData("Sigmoid", ConvAlgorithm.Winograd3x3)]
    public void Residual_and_activation_apply_in_the_output_transform(string activation, ConvAlgorithm algorithm)
    {
        var c = new OperatorCase().Input("x", 2, 20, 11, 13).Weight("w", 20, 20, 3, 3).Weight("b", 20);
        c.Model.AddNode("Conv", ["x", "w", "b"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Add", ["h", "x"], ["s"]);
        if (activation == "Clip") c.Model.AddNode("Clip", ["s"], ["a"], ("min", 0f), ("max", 0.5f));
        else c.Model.AddNode(activation, ["s"], ["a"]);
        c.Model.Opset = 10;
        c.LeaveRegion("a").AssertMatchesOnnxRuntime(Forced(algorithm));
        var conv = WinogradLayer(c.Plan!);
        Assert.Equal(algorithm, conv.Algorithm);
        Assert.False(conv.Residual.IsNone);
        Assert.Equal(activation, conv.Activation.Kind.ToString());
    }

    public static TheoryData<string> TacticNames => new(GemmKernels.Tactics.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(TacticNames))]
    public void Every_gemm_tactic_runs_the_winograd_gemms(string tactic)
    {
        foreach (var algorithm in Algorithms)
        {
            var c = Conv(2, 21, 37, 10, 9, [1, 1, 1, 1]);
            c.AssertMatchesOnnxRuntime(Forced(algorithm) with { ForceTactic = tactic });
            Assert.Equal(tactic, WinogradLayer(c.Plan!).Tactic);
        }
    }

    [Fact]
    public void The_plan_round_trip_keeps_the_algorithm()
    {
        foreach (var algorithm in Algorithms)
        {
            var c = Conv(1, 16, 24, 12, 12, [1, 1, 1, 1]);
            var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"), Forced(algorithm));
            var read = Engine.Deserialize(Save(engine));
            var conv = WinogradLayer(read.Plan);
            Assert.Equal(algorithm, conv.Algorithm);
            Assert.Equal(WinogradLayer(engine.Plan).Tactic, conv.Tactic);
            Assert.Equal(WinogradLayer(engine.Plan).TacticId, conv.TacticId);
            float[] x = ErrorMetrics.RandomValues(4, 16 * 12 * 12);
            Assert.Equal(Run(engine, x), Run(read, x));
        }
    }

    [Fact]
    public void Outputs_do_not_depend_on_the_thread_count()
    {
        var c = Conv(2, 24, 40, 20, 18, [1, 1, 1, 1]);
        var model = OnnxModel.Parse(c.Model.ToBytes(), null);
        float[] x = ErrorMetrics.RandomValues(6, 2 * 24 * 20 * 18);
        foreach (var algorithm in Algorithms)
        {
            float[] Output(int threads) => Run(EngineBuilder.Build(OnnxImporter.Import(model, "m"), Forced(algorithm) with { Threads = threads }), x);
            float[] one = Output(1);
            Assert.Equal(one, Output(2));
            Assert.Equal(one, Output(3));
        }
    }

    [Theory]
    [InlineData(77, ConvAlgorithm.Winograd4x4)]                                 // no such algorithm
    [InlineData((int)ConvAlgorithm.PointwiseGemm, ConvAlgorithm.Winograd4x4)]   // an algorithm that does not fit a 3×3 convolution
    [InlineData((int)ConvAlgorithm.Depthwise, ConvAlgorithm.Winograd4x4)]
    [InlineData((int)ConvAlgorithm.Im2ColGemm, ConvAlgorithm.Winograd4x4)]      // fits the convolution, but its weight is packed for Winograd
    [InlineData((int)ConvAlgorithm.Winograd2x2, ConvAlgorithm.Winograd4x4)]     // the other Winograd: 16 positions read from 36
    [InlineData((int)ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd2x2)]     // and 36 from 16, past the weight's end
    [InlineData((int)ConvAlgorithm.Winograd3x3, ConvAlgorithm.Winograd2x2)]     // 25 from 16
    [InlineData((int)ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd3x3)]     // 36 from 25
    [InlineData((int)ConvAlgorithm.Winograd2x2, ConvAlgorithm.Winograd3x3)]     // 16 from 25
    public void A_corrupt_algorithm_is_refused(int algorithm, ConvAlgorithm built)
    {
        var c = Conv(1, 16, 24, 12, 12, [1, 1, 1, 1]);
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"), Forced(built));
        WinogradLayer(engine.Plan).Algorithm = (ConvAlgorithm)algorithm;
        var error = Assert.Throws<PlanFormatException>(() => Engine.Deserialize(Save(engine)));
        Assert.Contains(algorithm == 77 ? "not a ConvAlgorithm" : "conv", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_winograd_convolution_on_a_shape_it_does_not_fit_is_refused()
    {
        // Strided: the Winograd kernel would read the weight and the input at the wrong lengths.
        var c = new OperatorCase().Input("x", 1, 16, 12, 12).Weight("w", 24, 16, 3, 3);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("strides", new long[] { 2, 2 }));
        c.LeaveRegion("h");
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"), Forced(ConvAlgorithm.Winograd4x4));
        var conv = Assert.Single(engine.Plan.Layers.OfType<ConvLayer>());
        Assert.Equal(ConvAlgorithm.Im2ColGemm, conv.Algorithm); // forcing applies only where Winograd does
        foreach (var algorithm in Algorithms)
        {
            conv.Algorithm = algorithm;
            Assert.Throws<PlanFormatException>(() => Engine.Deserialize(Save(engine)));
        }
    }

    [Theory]
    [InlineData(ConvAlgorithm.Winograd4x4, ConvPacking.Winograd4x4)]
    [InlineData(ConvAlgorithm.Winograd2x2, ConvPacking.Winograd2x2)]
    [InlineData(ConvAlgorithm.Winograd3x3, ConvPacking.Winograd3x3)]
    public void Refit_rederives_the_transformed_weight_exactly(ConvAlgorithm algorithm, ConvPacking packing)
    {
        // Built on v1, refitted with v2: the BatchNorm-folded, transformed and packed weight equals a build on v2, and ONNX Runtime on v2.
        using var dir = new TempDirectory();
        string v1 = dir.File("v1.onnx"), v2 = dir.File("v2.onnx");
        foreach (var (path, seed) in new[] { (v1, 1), (v2, 2) })
        {
            var c = new OperatorCase().Input("x", 2, 18, 10, 9);
            c.Model.AddInitializer("w", ErrorMetrics.RandomValues(seed, 20 * 18 * 9), [20, 18, 3, 3]);
            foreach (string p in new[] { "gamma", "beta", "mean" }) c.Model.AddInitializer(p, ErrorMetrics.RandomValues(seed + p.Length, 20), [20]);
            c.Model.AddInitializer("var", ErrorMetrics.RandomValues(seed + 20, 20).Select(v => 0.5f + Math.Abs(v)).ToArray(), [20]);
            c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
            c.Model.AddNode("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], ["n"]);
            c.Model.AddNode("Relu", ["n"], ["r"]);
            c.LeaveRegion("r");
            c.Model.Save(path);
        }
        NetworkDefinition Network(string path) => OnnxImporter.Import(OnnxModel.Parse(File.ReadAllBytes(path), null), "m");
        var engine = EngineBuilder.Build(Network(v1), Forced(algorithm));
        var recipe = engine.Plan.Weights[WinogradLayer(engine.Plan).W.Index].Recipe;
        Assert.Equal([RecipeKind.PackConv.ToString(), packing.ToString()], [recipe.Kind.ToString(), ((ConvPacking)recipe.Ints[0]).ToString()]);
        Assert.Equal(3, recipe.Sources.Length); // the BatchNormalization is folded in first
        new Refitter(engine).Refit(WeightSources.FromFile(v2));
        var fresh = EngineBuilder.Build(Network(v2), Forced(algorithm) with { ForceTactic = WinogradLayer(engine.Plan).Tactic });

        float[] x = ErrorMetrics.RandomValues(5, 2 * 18 * 10 * 9);
        float[] refitted = Run(engine, x), built = Run(fresh, x);
        var expected = OrtOracle.Run(File.ReadAllBytes(v2), new Dictionary<string, (int[], float[])> { ["x"] = ([2, 18, 10, 9], x) })["y"].Data;
        Assert.True(ErrorMetrics.RelativeL2(refitted, expected) <= 1e-5, $"refitted vs ONNX Runtime: {ErrorMetrics.RelativeL2(refitted, expected):E2}");
        Assert.Equal(built, refitted); // the same recipe on the same weights: bit for bit
    }

    [Fact]
    public void Timing_chooses_among_the_algorithms_and_the_cache_remembers_which()
    {
        var c = Conv(1, 32, 32, 28, 28, [1, 1, 1, 1]);
        var network = OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");
        var cache = new TimingCache();
        var engine = EngineBuilder.Build(network, new BuilderConfig { OptimizationLevel = 1, TimingCache = cache });
        var conv = Assert.Single(engine.Plan.Layers.OfType<ConvLayer>());
        Assert.True(conv.TacticMicroseconds > 0);
        using var dir = new TempDirectory();
        cache.Save(dir.File("timing.cache"));
        string[] entry = Assert.Single(File.ReadAllLines(dir.File("timing.cache")), line => line.StartsWith("conv ", StringComparison.Ordinal)).Split('\t');
        Assert.Contains("algorithms=Im2ColGemm,Winograd4x4,Winograd3x3,Winograd2x2", entry[0]);
        Assert.Equal($"{conv.Algorithm}:{conv.Tactic}", entry[1]);

        // A rebuild takes the cached algorithm and tactic without timing, even where the cache says another algorithm.
        foreach (var other in new[] { ConvAlgorithm.Im2ColGemm }.Concat(Algorithms).Where(a => a != conv.Algorithm))
        {
            cache.Set(entry[0], $"{other}:{conv.Tactic}", 1.5);
            var rebuilt = Assert.Single(EngineBuilder.Build(network, new BuilderConfig { OptimizationLevel = 1, TimingCache = cache }).Plan.Layers.OfType<ConvLayer>());
            Assert.Equal(other, rebuilt.Algorithm);
            Assert.Equal(1.5, rebuilt.TacticMicroseconds);
        }
    }

    [Theory]
    [InlineData(64, 28, ConvAlgorithm.Winograd4x4, "winograd f(4x4,3x3)")]   // 49 tiles of 4×4, at least one per 4,096 channel pairs
    [InlineData(256, 7, ConvAlgorithm.Winograd2x2, "winograd f(2x2,3x3)")]   // 4 of 4×4 for 65,536 pairs: too few; 16 of 2×2
    [InlineData(64, 3, ConvAlgorithm.Im2ColGemm, "im2col gemm")]             // 4 tiles of 2×2: too few for either
    public void Level_0_takes_an_algorithm_by_the_heuristic_rule_and_the_layer_info_shows_it(int channels, int size, ConvAlgorithm expected, string name)
    {
        using var dir = new TempDirectory();
        var c = Conv(1, channels, channels, size, size, [1, 1, 1, 1]);
        c.Model.Save(dir.File("m.onnx"));
        var engine = EngineConverter.Convert(dir.File("m.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var conv = Assert.Single(engine.Native.Plan.Layers.OfType<ConvLayer>());
        Assert.Equal(expected, conv.Algorithm);
        Assert.Equal(0, conv.TacticMicroseconds);
        var info = Assert.Single(TrtEngineInfo.From(engine).Layers, l => l.Algorithm is not null);
        Assert.Equal($"nhwc {name}", info.Algorithm);
        Assert.Equal($"Conv (nhwc {name})", info.Type);
        Assert.Equal(conv.Tactic, info.Tactic);
    }

    [Theory]
    [InlineData(ConvAlgorithm.Winograd4x4, "winograd f(4x4,3x3)")]
    [InlineData(ConvAlgorithm.Winograd3x3, "winograd f(3x3,3x3)")]
    [InlineData(ConvAlgorithm.Winograd2x2, "winograd f(2x2,3x3)")]
    public void The_layer_info_names_each_algorithm(ConvAlgorithm algorithm, string name)
    {
        var c = Conv(1, 16, 24, 12, 12, [1, 1, 1, 1]);
        var native = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"), Forced(algorithm));
        using var engine = new Core.Engines.TrtEngine(native, null, null, false, TimeSpan.Zero, null);
        var info = Assert.Single(TrtEngineInfo.From(engine).Layers, l => l.Algorithm is not null);
        Assert.Equal($"nhwc {name}", info.Algorithm);
        Assert.Equal($"Conv (nhwc {name})", info.Type);
    }

    private static byte[] Save(Engine engine) => engine.Serialize(includeWeights: true);

    private static float[] Run(Engine engine, float[] x)
    {
        var context = engine.CreateExecutionContext();
        var y = new float[context.GetOutputShape(0).Aggregate(1, (a, d) => a * d)];
        context.Execute([x], [y]);
        return y;
    }
}
