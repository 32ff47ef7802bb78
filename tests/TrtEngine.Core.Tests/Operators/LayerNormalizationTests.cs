using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>LayerNormalization (opset 17) as ConvNeXt and transformers export it, against ONNX Runtime.</summary>
public sealed class LayerNormalizationTests
{
    private static OperatorCase Case(int[] shape, int axis, bool bias)
    {
        int[] normalized = shape[(axis < 0 ? axis + shape.Length : axis)..];
        var c = new OperatorCase().Input("x", shape).Weight("scale", normalized).Output("y");
        if (bias) c.Weight("bias", normalized);
        c.Model.Opset = 17;
        c.Model.AddNode("LayerNormalization", bias ? ["x", "scale", "bias"] : ["x", "scale"], ["y"], ("axis", (long)axis), ("epsilon", 1e-3f));
        return c;
    }

    [Theory]
    [InlineData(new[] { 2, 5, 96 }, -1, true)]
    [InlineData(new[] { 2, 5, 7 }, -1, false)] // rows shorter than a vector
    [InlineData(new[] { 3, 4, 6, 5 }, -2, true)] // two normalised dimensions
    [InlineData(new[] { 2, 3, 37 }, 1, true)]
    [InlineData(new[] { 1, 28, 28, 96 }, -1, true)] // ConvNeXt's channels-last rows: shared over the threads
    [InlineData(new[] { 4, 768 }, 0, false)] // the whole tensor one row
    public void Matches_ONNX_Runtime(int[] shape, int axis, bool bias)
    {
        var c = Case(shape, axis, bias);
        c.AssertMatchesOnnxRuntime();
        Assert.Single(c.Plan!.Layers.OfType<LayerNormLayer>());
    }

    /// <summary>
    /// A scale and bias that broadcast to the normalised positions ([1, 4] and [3, 1] over [3, 4] rows), which ONNX
    /// allows: expanded at import, refitted by their names. Found by an operator differential: the model was refused.
    /// </summary>
    [Fact]
    public void A_scale_and_bias_that_broadcast_to_the_rows_match_onnx_runtime_and_refit()
    {
        var c = new OperatorCase().Input("x", 2, 3, 4).Weight("scale", 1, 4).Weight("bias", 3, 1).Output("y");
        c.Model.Opset = 17;
        c.Model.AddNode("LayerNormalization", ["x", "scale", "bias"], ["y"], ("axis", -2L));
        c.AssertMatchesOnnxRuntime();

        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.Opset = 17;
            m.AddInitializer("scale", ErrorMetrics.RandomValues(seed, 4), [1, 4]);
            m.AddInitializer("bias", ErrorMetrics.RandomValues(seed + 10, 3), [3, 1]);
            m.AddNode("LayerNormalization", ["x", "scale", "bias"], ["y"], ("axis", -2L));
        }, new BuilderConfig { OptimizationLevel = 0 }, [2, 3, 4], engine => Assert.Equal(["bias", "scale"], engine.Plan.ModelWeights.Select(w => w.Name).Where(n => !n.Contains('/')).Order()));
    }

    [Fact]
    public void Crosses_the_plan_format_and_a_dynamic_batch()
    {
        var c = new OperatorCase().BatchedInput("x", 3, 10, 64).Weight("scale", 64).Weight("bias", 64).Output("y");
        c.Model.Opset = 18;
        c.Model.AddNode("LayerNormalization", ["x", "scale", "bias"], ["y"]);
        c.RoundTripPlan = true;
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void A_refit_takes_new_scale_and_bias() =>
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("scale", ErrorMetrics.RandomValues(seed, 48), [48]);
            m.AddInitializer("bias", ErrorMetrics.RandomValues(seed + 10, 48), [48]);
            m.AddNode("LayerNormalization", ["x", "scale", "bias"], ["y"]);
        }, new BuilderConfig(), [2, 9, 48], engine => Assert.Equal(["bias", "scale"], engine.Plan.ModelWeights.Select(w => w.Name).Order()));

    [Fact]
    public void Rows_that_do_not_fit_the_scale_are_refused_at_the_build_or_at_the_run()
    {
        // The normalised dimension is dynamic: a profile whose minimum or optimum the scale does not fit is refused when
        // the engine is built; a run at another width within the profile, when its shapes are set, before any layer runs.
        using var dir = new TempDirectory();
        var model = new OnnxModelBuilder();
        model.AddInput("x", OnnxDataType.Float, "batch", "width");
        model.AddInitializer("scale", ErrorMetrics.RandomValues(1, 16), [16]);
        model.AddNode("LayerNormalization", ["x", "scale"], ["y"]);
        model.AddOutput("y", OnnxDataType.Float);
        string path = dir.File("m.onnx");
        model.Save(path);
        Engines.TrtEngine Build(int minWidth) => Conversion.EngineConverter.Convert(path, new Conversion.ConversionSettings
        {
            UseCache = false,
            MinShapes = new Dictionary<string, int[]> { ["x"] = [1, minWidth] },
            OptShapes = new Dictionary<string, int[]> { ["x"] = [2, 16] },
            MaxShapes = new Dictionary<string, int[]> { ["x"] = [4, 32] },
        });
        var atBuild = Assert.IsType<ShapeException>(Record.Exception(() => Build(minWidth: 8)));
        Assert.Contains("not one value for each of the 8 normalised positions", atBuild.Message, StringComparison.Ordinal);

        using var engine = Build(minWidth: 16);
        Assert.Equal([2, 16], engine.Run(new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(2, 32) }, new Dictionary<string, int[]> { ["x"] = [2, 16] })[0].Shape);
        var atRun = Assert.IsType<ShapeException>(Record.Exception(() =>
            engine.Run(new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(3, 48) }, new Dictionary<string, int[]> { ["x"] = [2, 24] })));
        Assert.Contains("not one value for each of the 24 normalised positions", atRun.Message, StringComparison.Ordinal);
    }

    /// <summary>What importing LayerNormalization over x [2, 8] with a scale of <paramref name="scaleLength"/> values throws.</summary>
    private static Exception Refusal(int scaleLength, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var c = new OperatorCase().Input("x", 2, 8).Weight("scale", scaleLength).Output("y");
        c.Model.Opset = 17;
        c.Model.AddNode("LayerNormalization", ["x", "scale"], outputs, attributes);
        return Assert.ThrowsAny<Exception>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
    }

    [Fact]
    public void Its_training_outputs_are_refused_by_name()
    {
        var refused = Assert.IsType<ModelImportException>(Refusal(8, ["y", "mean", "inv_std_dev"]));
        Assert.Contains("Mean and InvStdDev", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Statistics_in_another_type_are_refused()
    {
        var refused = Assert.IsType<ModelImportException>(Refusal(8, ["y"], ("stash_type", 11L)));
        Assert.Contains("stash_type 11", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scale_of_the_wrong_size_is_refused_with_the_shapes()
    {
        var refused = Assert.IsType<ShapeException>(Refusal(6, ["y"]));
        Assert.Contains("the scale has shape [6]", refused.Message, StringComparison.Ordinal);
        Assert.Contains("8 normalised positions", refused.Message, StringComparison.Ordinal);
    }
}
