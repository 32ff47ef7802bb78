using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Weights;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Core.Tests.Weights;

/// <summary>
/// A weights file bound at conversion (New-TrtEngine -WeightsPath) against the model: its tensors take the place of
/// graph inputs or initializers, so each must be floating point and of the declared shape; every misfit is listed in
/// one error before anything is built or cached, and integer tensors that bind nothing are left out.
/// </summary>
public sealed class BoundWeightsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly float[] _w = ErrorMetrics.RandomValues(1, 32), _b = ErrorMetrics.RandomValues(2, 4);

    public void Dispose() => _dir.Dispose();

    /// <summary>A Gemm whose weight and bias are graph inputs, the weight's first dimension symbolic; perhaps an int64 input "steps".</summary>
    private string Weightless(bool steps)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, "batch", 8);
        m.AddInput("fc.weight", OnnxDataType.Float, "out", 8);
        m.AddInput("fc.bias", OnnxDataType.Float, 4);
        if (steps) m.AddInput("steps", OnnxDataType.Int64, 1);
        m.AddOutput("y", OnnxDataType.Float);
        m.AddNode("Gemm", ["x", "fc.weight", "fc.bias"], ["y"], ("transB", 1L));
        string path = _dir.File($"weightless_{steps}.onnx");
        m.Save(path);
        return path;
    }

    /// <summary>That the engine computes x·Wᵀ + bias for the test's weight, on random inputs.</summary>
    private void AssertGemm(Engines.TrtEngine engine, float[] bias)
    {
        float[] x = ErrorMetrics.RandomValues(3, 8);
        float[] expected = Enumerable.Range(0, 4).Select(o => bias[o] + Enumerable.Range(0, 8).Sum(i => x[i] * _w[o * 8 + i])).ToArray();
        Assert.True(ErrorMetrics.RelativeL2(engine.Run(new Dictionary<string, float[]> { ["x"] = x })[0].Data, expected) < 1e-6);
    }

    private ConversionSettings Settings(string weights) => new() { CacheDirectory = _dir.File("cache"), OptimizationLevel = 0, WeightsPath = weights };

    [Fact]
    public void Tensors_that_do_not_fit_what_they_bind_are_all_listed_and_nothing_is_cached()
    {
        string weights = _dir.File("misfit.safetensors");
        SafetensorsWriter.Write(weights, [("fc.weight", [8, 4], _w, "F32"), ("fc.bias", [4], _b, "I64"), ("steps", [1], [3f], "F32")]);

        var refused = Assert.Throws<WeightFormatException>(() => EngineConverter.Convert(Weightless(steps: true), Settings(weights)));
        Assert.Contains("(3)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'fc.weight' is [8, 4] in the file, the model declares [out, 8]", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'fc.bias' holds integers (I64)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'steps' is a Int64 tensor in the model", refused.Message, StringComparison.Ordinal);
        Assert.Empty(new DiskEngineStore(_dir.File("cache")).List());
    }

    [Fact]
    public void A_symbolic_dimension_takes_the_file_s_size_and_integer_counters_are_left_out()
    {
        string weights = _dir.File("state_dict.safetensors");
        SafetensorsWriter.Write(weights, [("fc.weight", [4, 8], _w, "F32"), ("fc.bias", [4], _b, "F32"), ("bn.num_batches_tracked", [], [1200f], "I64")]);
        var events = new RecordingEvents();

        using var engine = EngineConverter.Convert(Weightless(steps: false), Settings(weights), events);
        Assert.Empty(events.Warnings);
        Assert.Contains(events.Messages, m => m.Contains("1 integer tensor of", StringComparison.Ordinal) && m.Contains("is not a weight and was left out", StringComparison.Ordinal) && m.Contains("bn.num_batches_tracked", StringComparison.Ordinal));
        AssertGemm(engine, _b);
    }

    /// <summary>
    /// -NameMap on a conversion: a DDP checkpoint's names ("module.fc.weight") bind once renamed, a name mapped to null
    /// is left out without a warning, and two names mapped to one are refused before anything is built or cached.
    /// </summary>
    [Fact]
    public void Renamed_tensors_bind_by_their_new_names_and_two_names_for_one_weight_are_refused()
    {
        string weights = _dir.File("ddp.safetensors");
        SafetensorsWriter.Write(weights, [("module.fc.weight", [4, 8], _w, "F32"), ("module.fc.bias", [4], _b, "F32"), ("module.head.weight", [4, 8], _w, "F32")]);
        var refused = Assert.Throws<WeightFormatException>(() => EngineConverter.Convert(Weightless(steps: false), Settings(weights)));
        Assert.Contains("-NameMap { $_ -replace '^module\\.', '' } takes it off", refused.Message, StringComparison.Ordinal);

        var events = new RecordingEvents();
        string? Map(string name) => name == "module.head.weight" ? null : name["module.".Length..];
        using var engine = EngineConverter.Convert(Weightless(steps: false), Settings(weights) with { WeightNames = Map }, events);
        Assert.Empty(events.Warnings);
        Assert.Equal(["fc.bias", "fc.weight"], engine.Native.Plan.ModelWeights.Select(w => w.Name).Order(StringComparer.Ordinal));
        AssertGemm(engine, _b);

        var twice = Assert.Throws<ArgumentException>(() =>
            EngineConverter.Convert(Weightless(steps: false), Settings(weights) with { CacheDirectory = _dir.File("cache2"), WeightNames = n => n.Replace("head", "fc", StringComparison.Ordinal)["module.".Length..] }));
        Assert.Equal("-NameMap maps both 'module.fc.weight' and 'module.head.weight' to 'fc.weight'; map each to its own model weight, or one of them to nothing to leave it out.", twice.Message);
        Assert.False(Directory.Exists(_dir.File("cache2")));
    }

    /// <summary>
    /// A torch checkpoint of a module with a tied weight: the name the model lacks shows the tensor one of its names
    /// binds, so it is left out with a verbose line, not warned about as a tensor that binds nothing.
    /// </summary>
    [Fact]
    public void A_tied_weight_s_other_name_is_left_out_without_a_warning()
    {
        string weights = _dir.File("tied.pt");
        // Every tensor a view of the first's storage: the bias its first four values, head.weight the whole of it.
        TorchCheckpointWriter.Write(weights, [("fc.weight", [4, 8], _w), ("fc.bias", [4], _w[..4]), ("head.weight", [4, 8], _w)], shareFirst: true);
        var events = new RecordingEvents();

        using var engine = EngineConverter.Convert(Weightless(steps: false), Settings(weights), events);

        Assert.Empty(events.Warnings);
        Assert.Contains(events.Messages, m => m.Contains("1 tensor of", StringComparison.Ordinal) && m.Contains("is another name of a weight", StringComparison.Ordinal) && m.Contains("'head.weight' (as 'fc.weight')", StringComparison.Ordinal));
        AssertGemm(engine, _w[..4]);
    }

    /// <summary>
    /// Found by a QA helper: New-TrtEngine -WeightsPath built engines from NaN and infinite values without a word, where a
    /// refit from the same file refuses them. They are refused now, all listed, unless asked for; a value the model holds
    /// itself bit for bit (a mask of −∞ in an initializer) is not.
    /// </summary>
    [Fact]
    public void Non_finite_values_are_refused_unless_asked_for_or_the_model_s_own()
    {
        float[] w = [.. _w], b = [.. _b];
        (w[5], b[2]) = (float.NaN, float.NegativeInfinity);
        string weights = _dir.File("nan.safetensors");
        SafetensorsWriter.Write(weights, [("fc.weight", [4, 8], w), ("fc.bias", [4], b)]);

        var refused = Assert.Throws<WeightFormatException>(() => EngineConverter.Convert(Weightless(steps: false), Settings(weights)));
        Assert.Contains("'fc.weight' value NaN at index 5 is not finite", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'fc.bias' value -Infinity at index 2 is not finite", refused.Message, StringComparison.Ordinal);
        Assert.Empty(new DiskEngineStore(_dir.File("cache")).List());
        using (var allowed = EngineConverter.Convert(Weightless(steps: false), Settings(weights) with { AllowNonFinite = true }))
            Assert.True(float.IsNaN(allowed.Run(new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(3, 8) })[0].Data[0]));

        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 2, 4);
        m.AddInitializer("mask", [0f, float.NegativeInfinity, 0f, float.NegativeInfinity], [4]);
        m.AddNode("Add", ["x", "mask"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        string model = _dir.File("mask.onnx");
        m.Save(model);
        string same = _dir.File("mask.safetensors");
        SafetensorsWriter.Write(same, [("mask", [4], [0f, float.NegativeInfinity, 0f, float.NegativeInfinity])]);
        using var masked = EngineConverter.Convert(model, Settings(same));
        Assert.Equal(float.NegativeInfinity, masked.Run(new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(4, 8) })[0].Data[1]);
    }

    /// <summary>
    /// Found by a QA helper: a file with no tensors, or a -NameMap that leaves every tensor out, built the model's own
    /// weights without a word; a weight input the file still lacks after the map was met with advice to give -WeightsPath.
    /// </summary>
    [Fact]
    public void A_file_that_binds_nothing_is_refused_and_a_weight_it_lacks_is_named_as_missing_from_it()
    {
        string empty = _dir.File("empty.safetensors"), weights = _dir.File("state_dict.safetensors");
        SafetensorsWriter.Write(empty, []);
        SafetensorsWriter.Write(weights, [("fc.weight", [4, 8], _w), ("fc.bias", [4], _b)]);

        Assert.Contains("holds no tensors", Assert.Throws<WeightFormatException>(() => EngineConverter.Convert(Weightless(steps: false), Settings(empty))).Message, StringComparison.Ordinal);
        var none = Assert.Throws<ArgumentException>(() => EngineConverter.Convert(Weightless(steps: false), Settings(weights) with { WeightNames = _ => null }));
        Assert.StartsWith("-NameMap leaves out every one of the 2 tensors", none.Message, StringComparison.Ordinal);
        // Found by a QA helper (session 50): a file of what is no weight (a state dict's counter) built the model's own weights too.
        string counters = _dir.File("counters.safetensors");
        SafetensorsWriter.Write(counters, [("bn.num_batches_tracked", [], [1200f], "I64")]);
        var nothing = Assert.Throws<WeightFormatException>(() => EngineConverter.Convert(Weightless(steps: false), Settings(counters)));
        Assert.Contains("holds none of the model's weights, only 1 tensor that is no weight (bn.num_batches_tracked), so it would change nothing", nothing.Message, StringComparison.Ordinal);
        var one = Assert.Throws<ArgumentException>(() => EngineConverter.Convert(Weightless(steps: false), Settings(counters) with { WeightNames = _ => null }));
        Assert.StartsWith("-NameMap leaves out the one tensor of", one.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("cache")));

        // A convolution's weight must be one: the graph input the file does not fill is named as missing from it.
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 1, 2, 4, 4);
        m.AddInput("conv.weight", OnnxDataType.Float, 3, 2, 1, 1);
        m.AddInput("conv.bias", OnnxDataType.Float, 3);
        m.AddOutput("y", OnnxDataType.Float);
        m.AddNode("Conv", ["x", "conv.weight", "conv.bias"], ["y"]);
        string conv = _dir.File("conv.onnx");
        m.Save(conv);
        string renamed = _dir.File("conv.safetensors");
        SafetensorsWriter.Write(renamed, [("conv.w", [3, 2, 1, 1], ErrorMetrics.RandomValues(5, 6)), ("conv.bias", [3], ErrorMetrics.RandomValues(6, 3))]);
        var lacking = Assert.Throws<ModelImportException>(() => EngineConverter.Convert(conv, Settings(renamed) with { WeightNames = n => n }));
        Assert.Contains("'conv.weight'", lacking.Message, StringComparison.Ordinal);
        Assert.Contains("The -WeightsPath file has no tensor of that name", lacking.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_weights_file_the_error_says_to_give_one_and_an_onnx_model_is_not_taken_for_one()
    {
        var missing = Assert.Throws<ModelImportException>(() => EngineConverter.Convert(Weightless(steps: false), Settings(null!) with { WeightsPath = null }));
        Assert.Contains("'fc.weight' is a graph input", missing.Message, StringComparison.Ordinal);
        Assert.Contains("-WeightsPath", missing.Message, StringComparison.Ordinal);

        var onnx = Assert.Throws<WeightFormatException>(() => EngineConverter.Convert(Weightless(steps: false), Settings(Weightless(steps: true))));
        Assert.Contains("takes a safetensors or torch checkpoint, not an ONNX model", onnx.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("cache")));
    }

    /// <summary>
    /// A file that gives a value the import reads as a constant (Resize's scales) and a Constant node's value: bound as
    /// a refit from that file would take them. Found by a fuzzer: the scales became a weight no layer reads and left the
    /// engine, whose refit from the very file it was built with then refused them (and the cache key differed from
    /// the plain build's), and the Constant node kept the model's value where a refit takes the file's.
    /// </summary>
    [Fact]
    public void Values_read_as_constants_and_Constant_nodes_bind_as_a_refit_from_the_file_takes_them()
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 1, 2, 4, 4);
        m.AddInitializer("scales", [1f, 1f, 2f, 2f], [4]);
        m.AddNode("Resize", ["x", "", "scales"], ["r"], ("mode", "nearest"));
        m.AddNode("Constant", [], ["k"], ("value", TensorValue.Float([0.5f, -1.5f], 1, 2, 1, 1)));
        m.AddNode("Mul", ["r", "k"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        string model = _dir.File("resize.onnx");
        m.Save(model);
        // The model's own scales: the same engine, so the same cache entry; a refit from the file changes nothing.
        string scales = _dir.File("scales.safetensors");
        SafetensorsWriter.Write(scales, [("scales", [4], [1f, 1f, 2f, 2f])]);
        var plain = EngineConverter.Convert(model, Settings(null!) with { WeightsPath = null });
        var same = EngineConverter.Convert(model, Settings(scales));
        Assert.True(same.FromCache);
        using (var read = Refit.WeightFile.Read(scales, same)) Assert.Empty(same.Refit(read.Values).ChangedModelWeights);

        // Another value for the Constant node: the engine built with the file computes what a refit from it does.
        string file = _dir.File("k.safetensors");
        SafetensorsWriter.Write(file, [("scales", [4], [1f, 1f, 2f, 2f]), ("k", [1, 2, 1, 1], [3f, 0.25f])]);
        var bound = EngineConverter.Convert(model, Settings(file));
        using (var read = Refit.WeightFile.Read(file, plain)) plain.Refit(read.Values);
        var x = new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(3, 32) };
        Assert.Equal(plain.Run(x)[0].Data, bound.Run(x)[0].Data);
        using (var read = Refit.WeightFile.Read(file, bound)) Assert.Empty(bound.Refit(read.Values).ChangedModelWeights);
    }
}
