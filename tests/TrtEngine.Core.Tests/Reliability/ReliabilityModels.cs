using TrtEngine.CacheWorker;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// Three small models of different structure (an MLP, a wider MLP, a convolution with batch norm) written to a temporary
/// directory, with each one's reference output digest from an engine built without the cache.
/// </summary>
public sealed class ReliabilityModels : IDisposable
{
    private readonly TempDirectory _dir = new();

    public ReliabilityModels()
    {
        File.Copy(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx"), _dir.File("tiny_mlp.onnx"));
        var mlp = new OnnxModelBuilder();
        mlp.AddInput("features", OnnxDataType.Float, 3, 24);
        mlp.AddInitializer("fc1.weight", ErrorMetrics.RandomValues(21, 24 * 48), [48, 24]);
        mlp.AddInitializer("fc1.bias", ErrorMetrics.RandomValues(22, 48), [48]);
        // The second layer's weight is rows 1..6 of a larger parameter: a folded slice the plan keeps and a refit re-runs.
        mlp.AddInitializer("fc2.weight", ErrorMetrics.RandomValues(23, 48 * 8), [8, 48]);
        mlp.AddInitializer("rows", new long[] { 1, 7 }, [2]);
        mlp.AddOutput("scores", OnnxDataType.Float);
        mlp.AddNode("Gemm", ["features", "fc1.weight", "fc1.bias"], ["h"], ("transB", 1L));
        mlp.AddNode("Tanh", ["h"], ["t"]);
        mlp.AddNode("Split", ["fc2.weight", "rows"], ["fc2.first", "fc2.rest"], ("axis", 0L));
        mlp.AddNode("Slice", ["fc2.rest", "slice.starts", "slice.ends"], ["fc2.used"]);
        mlp.AddInitializer("slice.starts", new long[] { 0 }, [1]);
        mlp.AddInitializer("slice.ends", new long[] { 6 }, [1]);
        mlp.AddNode("Gemm", ["t", "fc2.used"], ["scores"], ("transB", 1L));
        mlp.Save(_dir.File("wide_mlp.onnx"));

        var conv = new OnnxModelBuilder();
        conv.AddInput("image", OnnxDataType.Float, 1, 3, 10, 10);
        conv.AddInitializer("conv.weight", ErrorMetrics.RandomValues(31, 8 * 3 * 3 * 3), [8, 3, 3, 3]);
        conv.AddInitializer("bn.scale", ErrorMetrics.RandomValues(32, 8), [8]);
        conv.AddInitializer("bn.bias", ErrorMetrics.RandomValues(33, 8), [8]);
        conv.AddInitializer("bn.mean", ErrorMetrics.RandomValues(34, 8), [8]);
        conv.AddInitializer("bn.var", ErrorMetrics.RandomValues(35, 8).Select(v => v * v + 0.5f).ToArray(), [8]);
        conv.AddOutput("features", OnnxDataType.Float);
        conv.AddNode("Conv", ["image", "conv.weight"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }));
        conv.AddNode("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b"]);
        conv.AddNode("Relu", ["b"], ["features"]);
        conv.Save(_dir.File("small_cnn.onnx"));

        Paths = [_dir.File("tiny_mlp.onnx"), _dir.File("wide_mlp.onnx"), _dir.File("small_cnn.onnx")];
        Digests = Paths.Select(p => WorkerIO.OutputDigest(EngineConverter.Convert(p, new ConversionSettings { UseCache = false, OptimizationLevel = 0 }))).ToArray();
    }

    public string[] Paths { get; }

    /// <summary>The output digest of each model's engine built without the cache (WorkerIO inputs).</summary>
    public string[] Digests { get; }

    public void Dispose() => _dir.Dispose();
}
