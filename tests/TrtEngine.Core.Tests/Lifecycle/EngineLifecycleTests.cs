using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Tests.Operators;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Lifecycle;

/// <summary>Export and import with and without weights, refits that are refused leave the engine untouched, plans that are damaged are refused.</summary>
public sealed class EngineLifecycleTests
{
    private static string Example(string file) => Path.Combine(TestPaths.ExampleModels, file);
    private static readonly float[] Input = ErrorMetrics.RandomValues(9, 3 * 64);

    private static Core.Engines.TrtEngine Build() =>
        EngineConverter.Convert(Example("tiny_mlp.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });

    private static float[] Run(Core.Engines.TrtEngine engine) => engine.Run(new Dictionary<string, float[]> { ["input"] = Input })[0].Data;

    private static Core.Engines.TrtEngine RoundTrip(Core.Engines.TrtEngine engine, bool weights)
    {
        using var stream = new MemoryStream();
        engine.Export(stream, weights);
        return Core.Engines.TrtEngine.Import(stream.ToArray());
    }

    [Fact]
    public void Export_with_weights_round_trips_bit_for_bit()
    {
        var engine = Build();
        Assert.Equal(Run(engine), Run(RoundTrip(engine, weights: true)));
    }

    [Fact]
    public void A_stripped_export_is_small_refuses_to_run_and_stays_refittable_through_many_refits()
    {
        var engine = Build();
        var stripped = RoundTrip(engine, weights: false);
        using (var full = new MemoryStream())
        using (var small = new MemoryStream())
        {
            engine.Export(full, true);
            stripped.Export(small, false);
            Assert.True(small.Length * 20 < full.Length, $"stripped {small.Length} bytes, full {full.Length}");
        }
        var error = Assert.Throws<EngineHasNoWeightsException>(() => Run(stripped));
        Assert.Contains("Update-TrtEngineWeights", error.Message);

        string[] checkpoints = ["tiny_mlp.ckpt1.safetensors", "tiny_mlp.ckpt2.safetensors", "tiny_mlp.ckpt3.safetensors"];
        var reference = checkpoints.ToDictionary(c => c, c =>
        {
            engine.Refit(WeightSources.FromFile(Example(c)));
            return Run(engine);
        });
        for (int round = 0; round < 3; round++)
            foreach (string c in checkpoints)
            {
                stripped.Refit(WeightSources.FromFile(Example(c)));
                Assert.Equal(reference[c], Run(stripped));
                stripped = RoundTrip(stripped, weights: round % 2 == 0); // refittable after any export
                if (!stripped.HasWeights) stripped.Refit(WeightSources.FromFile(Example(c)));
            }
    }

    [Fact]
    public void A_refused_refit_changes_nothing_and_lists_every_problem()
    {
        var engine = Build();
        float[] before = Run(engine);
        var weights = new Dictionary<string, WeightValue>(WeightSources.FromFile(Example("tiny_mlp.ckpt2.safetensors")));
        weights.Remove("2.bias");
        weights["0.weight"] = new WeightValue([64, 128], weights["0.weight"].Data);
        var nan = (float[])weights["4.bias"].Data.Clone();
        nan[3] = float.NaN;
        weights["4.bias"] = new WeightValue([10], nan);
        weights["unknown"] = new WeightValue([1], [1f]);

        var refused = Assert.Throws<RefitException>(() => engine.Refit(weights));
        Assert.Equal(["2.bias"], refused.Check.Missing);
        Assert.Equal(["unknown"], refused.Check.Extra);
        Assert.Equal(["0.weight", "4.bias"], refused.Check.Mismatched.Select(m => m.Name).Order());
        Assert.Equal(before, Run(engine));
        Assert.Equal(0, engine.RefitCount);
    }

    [Fact]
    public void A_partial_refit_changes_only_what_it_supplies()
    {
        var engine = Build();
        var full = WeightSources.FromFile(Example("tiny_mlp.ckpt2.safetensors"));
        Assert.Throws<RefitException>(() => engine.Refit(new Dictionary<string, WeightValue> { ["4.bias"] = full["4.bias"] }));
        engine.Refit(new Dictionary<string, WeightValue> { ["4.bias"] = full["4.bias"] }, partial: true);
        var expected = Build();
        var mixed = new Dictionary<string, WeightValue>(WeightSources.FromFile(Example("tiny_mlp.onnx"))) { ["4.bias"] = full["4.bias"] };
        expected.Refit(mixed);
        Assert.Equal(Run(expected), Run(engine));
    }

    [Fact]
    public void A_partial_refit_of_an_engine_saved_without_weights_says_it_needs_them_all()
    {
        var stripped = RoundTrip(Build(), weights: false);
        var full = WeightSources.FromFile(Example("tiny_mlp.ckpt2.safetensors"));
        var refused = Assert.Throws<RefitException>(() => stripped.Refit(new Dictionary<string, WeightValue> { ["4.bias"] = full["4.bias"] }, partial: true));
        Assert.True(refused.Check.PartialWithoutWeights);
        Assert.Contains("this one has none (it was saved without them): supply every weight once", refused.Message, StringComparison.Ordinal);
        Assert.Contains("0.weight", refused.Check.Missing);
        Assert.False(stripped.HasWeights);
    }

    [Fact]
    public void A_constant_folded_into_a_fused_gelu_refits_only_with_its_value()
    {
        var engine = Build();
        Assert.Equal(3, engine.LayerCount); // three GEMMs: Relu and the five-layer GELU live in their epilogues
        var weights = new Dictionary<string, WeightValue>(WeightSources.FromFile(Example("tiny_mlp.onnx")));
        engine.Refit(weights); // the same values: accepted
        float[] before = Run(engine);
        string folded = weights.Keys.First(k => k.StartsWith("/3/Constant", StringComparison.Ordinal));
        weights[folded] = new WeightValue(weights[folded].Shape, [weights[folded].Data[0] + 1f]);
        var refused = Assert.Throws<RefitException>(() => engine.Refit(weights));
        Assert.Contains("folded", Assert.Single(refused.Check.Mismatched).Problem);
        Assert.Equal(before, Run(engine));
    }

    [Fact]
    public void Damaged_plans_are_refused_with_a_typed_error()
    {
        using var stream = new MemoryStream();
        Build().Export(stream, true);
        byte[] plan = stream.ToArray();
        var random = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            byte[] damaged = (byte[])plan.Clone();
            if (trial % 2 == 0) damaged = damaged[..random.Next(damaged.Length)];
            else damaged[random.Next(damaged.Length)] ^= (byte)(1 << random.Next(8));
            Assert.Throws<PlanFormatException>(() => Core.Engines.TrtEngine.Import(damaged));
        }
    }

    [Theory]
    [InlineData("input")]
    [InlineData("output")]
    public void A_plan_whose_shapes_do_not_follow_from_its_inputs_is_refused_when_read(string edited)
    {
        // Dimensions edited consistently with each other, so every reference and profile check passes: the input's
        // features (and its profile) no longer match the first layer's weight, or the output claims another width.
        var engine = Build().Native;
        var plan = engine.Plan;
        int tensor = edited == "input" ? plan.Inputs[0] : plan.Outputs[0];
        plan.Tensors[tensor] = plan.Tensors[tensor] with { Dims = [-1, plan.Tensors[tensor].Dims[1] + 1] };
        if (edited == "input")
        {
            var p = plan.Profiles[0];
            plan.Profiles[0] = new ShapeProfile([p.Min[0], 65], [p.Opt[0], 65], [p.Max[0], 65]);
        }
        var error = Assert.Throws<PlanFormatException>(() => Engine.Deserialize(engine.Serialize(includeWeights: false)));
        Assert.Contains(edited == "input" ? "do not follow from its inputs'" : "is declared [?, 11] but is [1, 10]", error.Message);
    }

    [Fact]
    public async Task Inference_during_refits_sees_the_old_weights_or_the_new_never_a_mix()
    {
        var engine = Build();
        var one = WeightSources.FromFile(Example("tiny_mlp.ckpt1.safetensors"));
        var two = WeightSources.FromFile(Example("tiny_mlp.ckpt2.safetensors"));
        engine.Refit(two);
        string expectedTwo = string.Join(",", Run(engine));
        engine.Refit(one);
        string expectedOne = string.Join(",", Run(engine));
        using var stop = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) seen.Add(string.Join(",", Run(engine)));
        })).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (int i = 0; (i < 200 || seen.Count < 200) && DateTime.UtcNow < deadline; i++) engine.Refit(i % 2 == 0 ? two : one);
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.NotEmpty(seen);
        Assert.All(seen, output => Assert.True(output == expectedOne || output == expectedTwo, "an inference saw a mix of two weight sets"));
    }

    [Fact]
    public void Alternating_two_checkpoints_a_hundred_times_stays_exact()
    {
        var engine = Build();
        var checkpoints = new[] { "tiny_mlp.ckpt1.safetensors", "tiny_mlp.ckpt2.safetensors" }.Select(c => WeightSources.FromFile(Example(c))).ToArray();
        var fresh = checkpoints.Select(c =>
        {
            var e = Build();
            e.Refit(c);
            return Run(e);
        }).ToArray();
        for (int i = 0; i < 100; i++)
        {
            engine.Refit(checkpoints[i % 2]);
            Assert.Equal(fresh[i % 2], Run(engine));
        }
        Assert.Equal(100, engine.RefitCount);
    }

    [Fact]
    public void Unchanged_weights_are_told_apart_from_changing_ones_without_changing_anything()
    {
        var engine = Build();
        float[] before = Run(engine);
        var same = WeightSources.FromFile(Example("tiny_mlp.onnx"));
        Assert.Equal(same.Keys.Order(StringComparer.Ordinal), engine.UnchangedWeights(same));

        var mixed = new Dictionary<string, WeightValue>(same) { ["4.bias"] = WeightSources.FromFile(Example("tiny_mlp.ckpt2.safetensors"))["4.bias"] };
        var unchanged = engine.UnchangedWeights(mixed);
        Assert.DoesNotContain("4.bias", unchanged);
        Assert.Equal(same.Count - 1, unchanged.Count);
        Assert.Equal(before, Run(engine));
        Assert.Empty(RoundTrip(engine, weights: false).UnchangedWeights(same)); // a stripped engine has nothing to compare
    }

    [Fact]
    public void Steady_state_execution_allocates_nothing()
    {
        var engine = Build();
        var context = engine.Native.CreateExecutionContext();
        context.SetInputShape(0, [3, 64]);
        float[][] inputs = [Input], outputs = [new float[30]];
        for (int i = 0; i < 10; i++) context.Execute(inputs, outputs);
        EngineChecks.AssertAllocatesNothing(() => context.Execute(inputs, outputs), 100);
        Assert.Equal(Run(engine), outputs[0]);
    }

    [Fact]
    public void Inputs_that_do_not_fit_get_clear_errors()
    {
        var engine = Build();
        Assert.Contains("not an input", Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]> { ["x"] = Input })).Message);
        Assert.Contains("Cannot infer", Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]> { ["input"] = new float[65] })).Message);
        Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]> { ["input"] = Input }, new Dictionary<string, int[]> { ["input"] = [3, 65] }));
    }

    /// <summary>
    /// An image given channels last to an engine that takes them first is named as such, not met with advice to rebuild
    /// (found by a QA helper, session 50: a [1, 224, 224, 3] image for SqueezeNet).
    /// </summary>
    [Fact]
    public void An_image_given_channels_last_is_told_the_channels_first_shape()
    {
        using var dir = new TempDirectory();
        var engine = Refitting.SmallCnn.Build(Refitting.SmallCnn.Write(dir, 10)); // x [2, 3, 8, 8]
        string message = Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]> { ["x"] = new float[2 * 8 * 8 * 3] },
            new Dictionary<string, int[]> { ["x"] = [2, 8, 8, 3] })).Message;
        Assert.Contains("dimension 1 must be 3", message);
        Assert.Contains("The shape is channels last (NHWC); the engine takes channels first (NCHW): [2, 3, 8, 8].", message);
        string other = Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]> { ["x"] = new float[2 * 4 * 8 * 8] },
            new Dictionary<string, int[]> { ["x"] = [2, 4, 8, 8] })).Message;
        Assert.DoesNotContain("channels last", other);
    }

    /// <summary>
    /// Two inputs each inside its profile whose batches differ, which the model adds: the error names both inputs'
    /// shapes (found by a QA helper: only the broadcast's account was given, naming no input).
    /// </summary>
    [Fact]
    public void Inputs_whose_shapes_do_not_fit_together_are_refused_naming_them()
    {
        var model = new OnnxModelBuilder();
        model.AddInput("a", OnnxDataType.Float, "n", 4);
        model.AddInput("b", OnnxDataType.Float, "n", 4);
        model.AddNode("Add", ["a", "b"], ["y"]);
        model.AddOutput("y", OnnxDataType.Float);
        using var dir = new TempDirectory();
        string path = dir.File("add.onnx");
        model.Save(path);
        var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });

        string message = Assert.Throws<ShapeException>(() => engine.Run(new Dictionary<string, float[]> { ["a"] = new float[8], ["b"] = new float[12] })).Message;
        Assert.StartsWith("Engine 'add' cannot run inputs of these shapes (a [2, 4], b [3, 4]): ", message);
        Assert.EndsWith("(a batch they share must be one size).", message);
        Assert.Equal(4, engine.Run(new Dictionary<string, float[]> { ["a"] = new float[4], ["b"] = new float[4] })[0].Data.Length);
    }

    [Theory]
    [InlineData(1, "dimension 0 is 1, below its min 2")]
    [InlineData(9, "dimension 0 is 9, above its max 8")]
    public void A_shape_outside_the_profile_is_refused_naming_the_input_the_dimension_and_its_range(int batch, string said)
    {
        var engine = EngineConverter.Convert(Example("tiny_mlp.onnx"), new ConversionSettings
        {
            UseCache = false, OptimizationLevel = 0,
            MinShapes = new Dictionary<string, int[]> { ["input"] = [2, 64] }, MaxShapes = new Dictionary<string, int[]> { ["input"] = [8, 64] },
        });
        string message = Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]> { ["input"] = new float[batch * 64] })).Message;
        Assert.Contains("Input 'input'", message);
        Assert.Contains(said, message);
        Assert.Contains("min [2, 64], opt [8, 64], max [8, 64]", message);
    }
}
