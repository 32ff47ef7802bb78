using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// A small model whose engine weights come from every kind of recipe: Conv + BatchNormalization (folded weight and
/// bias, sharing gamma and var), Relu, GlobalAveragePool, Flatten and a Gemm with a transposed B (packed). Written
/// with weights drawn from a seed, so two seeds give two checkpoints of one structure.
/// </summary>
internal static class SmallCnn
{
    public static readonly float[] Input = ErrorMetrics.RandomValues(3, 2 * 3 * 8 * 8);

    public static string Write(TempDirectory dir, int seed)
    {
        var model = new OnnxModelBuilder();
        model.AddInput("x", OnnxDataType.Float, 2, 3, 8, 8);
        Weight(model, "w", seed, 4, 3, 3, 3);
        Weight(model, "b", seed + 1, 4);
        Weight(model, "gamma", seed + 2, 4);
        Weight(model, "beta", seed + 3, 4);
        Weight(model, "mean", seed + 4, 4);
        model.AddInitializer("var", ErrorMetrics.RandomValues(seed + 5, 4).Select(v => 1.5f + v).ToArray(), [4]);
        Weight(model, "wg", seed + 6, 5, 4);
        Weight(model, "bg", seed + 7, 5);
        model.AddNode("Conv", ["x", "w", "b"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }));
        model.AddNode("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"]);
        model.AddNode("Relu", ["n"], ["r"]);
        model.AddNode("GlobalAveragePool", ["r"], ["g"]);
        model.AddNode("Flatten", ["g"], ["f"]);
        model.AddNode("Gemm", ["f", "wg", "bg"], ["y"], ("transB", 1L));
        model.AddOutput("y", OnnxDataType.Float);
        string path = dir.File($"small_cnn_{seed}.onnx");
        model.Save(path);
        return path;
    }

    private static void Weight(OnnxModelBuilder model, string name, int seed, params int[] shape) =>
        model.AddInitializer(name, ErrorMetrics.RandomValues(seed, shape.Aggregate(1L, (a, d) => a * d)), shape.Select(d => (long)d).ToArray());

    public static Engines.TrtEngine Build(string path) => EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });

    public static float[] Run(Engines.TrtEngine engine) => engine.Run(new Dictionary<string, float[]> { ["x"] = Input })[0].Data;

    public static Engines.TrtEngine RoundTrip(Engines.TrtEngine engine, bool weights)
    {
        using var stream = new MemoryStream();
        engine.Export(stream, weights);
        return Engines.TrtEngine.Import(stream.ToArray());
    }
}
