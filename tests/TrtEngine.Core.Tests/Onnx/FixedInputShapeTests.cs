using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Verification;
using TrtEngine.Native.Network;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Onnx;

/// <summary>
/// A model whose shape arithmetic reads a dimension it leaves dynamic (an older export of F.interpolate(scale_factor=1.5):
/// Resize sizes = Cast(Floor(Cast(Shape(x)[2:], float) · 1.5))) imports once the conversion fixes the input's shape:
/// -InputShape, or a range whose ends are equal, fills the dynamic dims at import. A refit from the model, its
/// verification and a cache hit import it the same way, from the engine's profiles.
/// </summary>
public sealed class FixedInputShapeTests
{
    private static readonly int[] Shape = [1, 2, 7, 5];

    /// <summary>x [batch, channels, h, 5] (or [1, 2, 7, 5], static) → Conv(w, padded) → Resize to 1.5× h and w, floored → y.</summary>
    private static string Model(TempDirectory dir, string name, int seed, int channels = 2, int outChannels = 4, bool dynamic = true, string input = "x")
    {
        var m = new OnnxModelBuilder { Opset = 13 };
        if (dynamic) m.AddInput(input, OnnxDataType.Float, "batch", channels, "h", 5);
        else m.AddInput(input, OnnxDataType.Float, 1, channels, 7, 5);
        m.AddInitializer("w", ErrorMetrics.RandomValues(seed, outChannels * channels * 9), [outChannels, channels, 3, 3]);
        m.AddNode("Conv", [input, "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }));
        m.AddNode("Shape", ["c"], ["shape"]);
        m.AddInitializer("zero", TensorValue.Int64([0], 1));
        m.AddInitializer("two", TensorValue.Int64([2], 1));
        m.AddInitializer("four", TensorValue.Int64([4], 1));
        m.AddNode("Slice", ["shape", "zero", "two"], ["nc"]);
        m.AddNode("Slice", ["shape", "two", "four"], ["hw"]);
        m.AddNode("Cast", ["hw"], ["hwf"], ("to", 1L));
        m.AddNode("Constant", [], ["factor"], ("value", TensorValue.Scalar(1.5f)));
        m.AddNode("Mul", ["hwf", "factor"], ["scaled"]);
        m.AddNode("Floor", ["scaled"], ["rounded"]);
        m.AddNode("Cast", ["rounded"], ["hwi"], ("to", 7L));
        m.AddNode("Concat", ["nc", "hwi"], ["sizes"], ("axis", 0L));
        m.AddInitializer("roi", TensorValue.Float([], 0));
        m.AddInitializer("scales", TensorValue.Float([], 0));
        m.AddNode("Resize", ["c", "roi", "scales", "sizes"], ["y"], ("mode", "nearest"));
        m.AddOutput("y", OnnxDataType.Float);
        string path = dir.File(name + ".onnx");
        m.Save(path);
        return path;
    }

    private static readonly ConversionSettings Fixed = new() { UseCache = false, OptimizationLevel = 0, InputShapes = new Dictionary<string, int[]> { ["x"] = Shape } };

    private static void AssertMatchesOnnxRuntime(Engines.TrtEngine engine, string model, int[] shape)
    {
        float[] x = ErrorMetrics.RandomValues(7, shape.Aggregate(1, (a, d) => a * d));
        var ours = engine.Run(new Dictionary<string, float[]> { ["x"] = x }, new Dictionary<string, int[]> { ["x"] = shape })[0];
        var expected = OrtOracle.Run(model, new Dictionary<string, (int[] Shape, float[] Data)> { ["x"] = (shape, x) })["y"];
        Assert.Equal(expected.Shape, ours.Shape);
        Assert.True(ErrorMetrics.RelativeL2(ours.Data, expected.Data) <= 1e-5);
    }

    [Fact]
    public void Without_a_fixed_shape_the_model_is_refused_with_what_to_do()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<ModelImportException>(() => EngineConverter.Convert(Model(dir, "m", 1), Fixed with { InputShapes = null }));
        Assert.Contains("dynamic input dimension", error.Message, StringComparison.Ordinal);
        Assert.Contains("-InputShape", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A shape given for a name the model has no input of (a typo), or of another rank, fills nothing: the user must hear
    /// that, not the import's advice to give the shape they just gave.
    /// </summary>
    [Theory]
    [InlineData("input", 4)]
    [InlineData("x", 3)]
    [InlineData("x", 5)]
    public void A_fixed_shape_that_fills_nothing_is_reported_as_such(string input, int rank)
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<ShapeException>(() => EngineConverter.Convert(Model(dir, "m", 1),
            Fixed with { InputShapes = new Dictionary<string, int[]> { [input] = [.. Enumerable.Repeat(2, rank)] } }));
        Assert.Contains(input == "x" ? $"rank {Shape.Length}" : $"'{input}', which is not an input", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fixed_input_shape_fills_the_dynamic_dims_at_import_and_the_engine_matches_onnx_runtime()
    {
        using var dir = new TempDirectory();
        string model = Model(dir, "m", 1);
        using var engine = EngineConverter.Convert(model, Fixed);
        Assert.Equal([1, 4, 10, 7], engine.Native.Plan.Tensors[engine.Native.Plan.Outputs[0]].Dims);
        AssertMatchesOnnxRuntime(engine, model, Shape);
        // A range whose ends are equal allows one shape too.
        var range = new Dictionary<string, int[]> { ["x"] = [2, 2, 9, 5] };
        using var ranged = EngineConverter.Convert(model, Fixed with { InputShapes = null, MinShapes = range, MaxShapes = range });
        AssertMatchesOnnxRuntime(ranged, model, [2, 2, 9, 5]);
    }

    [Fact]
    public void A_refit_from_the_model_and_its_verification_import_it_at_the_engine_s_shape()
    {
        using var dir = new TempDirectory();
        using var engine = EngineConverter.Convert(Model(dir, "v1", 1), Fixed);
        string v2 = Model(dir, "v2", 2);
        // As Update-TrtEngineWeights -Path reads it: for this engine.
        using var file = WeightFile.Read(v2, engine);
        Assert.False(file.OtherGraph);
        var result = engine.Refit(file.Values, verify: new RefitVerificationOptions { ModelPath = v2 });
        Assert.True(result.Verification!.Passed);
        AssertMatchesOnnxRuntime(engine, v2, Shape);
    }

    /// <summary>
    /// A re-export that names the input otherwise is the same graph (the structure digest counts inputs by position):
    /// its refit and verification take the shape of the engine's input at that position.
    /// </summary>
    [Fact]
    public void A_refit_from_a_re_export_that_renamed_the_input_imports_it_at_the_engine_s_shape()
    {
        using var dir = new TempDirectory();
        using var engine = EngineConverter.Convert(Model(dir, "v1", 1), Fixed);
        string v2 = Model(dir, "v2", 2, input: "image");
        using var file = WeightFile.Read(v2, engine);
        Assert.False(file.OtherGraph);
        var result = engine.Refit(file.Values, verify: new RefitVerificationOptions { ModelPath = v2 });
        Assert.True(result.Verification!.Passed);
    }

    [Fact]
    public void A_model_with_static_shape_arithmetic_is_refitted_from_its_own_file()
    {
        // The constants only the shape arithmetic reads (the factor 1.5, the floats it multiplies) are part of the
        // structure: no engine keeps them, and a refit from the model must not count them as weights it does not have.
        using var dir = new TempDirectory();
        using var engine = EngineConverter.Convert(Model(dir, "v1", 1, dynamic: false), Fixed with { InputShapes = null });
        string v2 = Model(dir, "v2", 2, dynamic: false);
        using var file = WeightFile.Read(v2, engine);
        Assert.Equal(engine.Native.Plan.ModelWeights.Select(m => m.Name).Order(), file.Values.Keys.Order());
        Assert.DoesNotContain("factor", file.Values.Keys);
        engine.Refit(file.Values);
        AssertMatchesOnnxRuntime(engine, v2, Shape);
    }

    /// <summary>
    /// A branch no output reads (an auxiliary head left in the export) is dropped by the builder, weights and all: a
    /// refit from the model must not count its weights as ones the engine lacks.
    /// </summary>
    [Fact]
    public void A_model_with_a_branch_no_output_reads_is_refitted_from_its_own_file()
    {
        using var dir = new TempDirectory();
        string Write(string name, int seed)
        {
            var m = new OnnxModelBuilder { Opset = 13 };
            m.AddInput("x", OnnxDataType.Float, 2, 4);
            m.AddInitializer("w", ErrorMetrics.RandomValues(seed, 4 * 3), [4, 3]);
            m.AddNode("MatMul", ["x", "w"], ["y"]);
            m.AddOutput("y", OnnxDataType.Float);
            m.AddInitializer("aux", ErrorMetrics.RandomValues(seed + 1, 4 * 3), [4, 3]);
            m.AddNode("MatMul", ["x", "aux"], ["unused"]);
            string path = dir.File(name + ".onnx");
            m.Save(path);
            return path;
        }
        using var engine = EngineConverter.Convert(Write("v1", 1), Fixed with { InputShapes = null });
        string v2 = Write("v2", 2);
        using var file = WeightFile.Read(v2, engine);
        Assert.Equal(engine.Native.Plan.ModelWeights.Select(m => m.Name).Order(), file.Values.Keys.Order());
        engine.Refit(file.Values);
        float[] x = ErrorMetrics.RandomValues(7, 8);
        var ours = engine.Run(new Dictionary<string, float[]> { ["x"] = x }, new Dictionary<string, int[]> { ["x"] = [2, 4] })[0];
        var expected = OrtOracle.Run(v2, new Dictionary<string, (int[] Shape, float[] Data)> { ["x"] = ([2, 4], x) })["y"];
        Assert.True(ErrorMetrics.RelativeL2(ours.Data, expected.Data) <= 1e-5);
    }

    [Fact]
    public void A_cache_hit_whose_refit_is_prepared_while_parsing_imports_at_the_fixed_shape()
    {
        // 4.6 MB of weights: the second conversion loads the hinted entry and prepares its refit as the model is parsed.
        using var dir = new TempDirectory();
        string model = Model(dir, "big", 3, channels: 256, outChannels: 500);
        var settings = Fixed with { UseCache = true, CacheDirectory = dir.File("cache"), InputShapes = new Dictionary<string, int[]> { ["x"] = [1, 256, 7, 5] } };
        Assert.True(500 * 256 * 9 * 4 >= GuessedEntry.MinWeightBytes);
        using (var built = EngineConverter.Convert(model, settings))
            Assert.False(built.FromCache);
        using var hit = EngineConverter.Convert(model, settings);
        Assert.True(hit.FromCache);
        AssertMatchesOnnxRuntime(hit, model, [1, 256, 7, 5]);
    }
}
