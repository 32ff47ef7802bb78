using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Network;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>An engine built on one model file and refitted from another, against a build on the second and ONNX Runtime.</summary>
internal static class RefitComparison
{
    /// <summary>
    /// Writes the model twice, v1 and v2 (<paramref name="writeModel"/> adds its nodes and initializers from a seed, 1 or
    /// 2, after input "x" of <paramref name="inputShape"/>, before output "y"); builds on v1 (<paramref name="checkPlan"/>
    /// sees that engine first), refits it from v2 and runs "x": "y" is bit for bit a fresh build's on v2 (the same
    /// recipes on the same weights) and within relative L2 1e-5 of ONNX Runtime's on v2.
    /// </summary>
    public static void AssertRefitEqualsFreshBuild(Action<OnnxModelBuilder, int> writeModel, BuilderConfig config, int[] inputShape, Action<Engine> checkPlan)
    {
        using var dir = new TempDirectory();
        string v1 = dir.File("v1.onnx"), v2 = dir.File("v2.onnx");
        foreach (var (path, seed) in new[] { (v1, 1), (v2, 2) })
        {
            var m = new OnnxModelBuilder();
            m.AddInput("x", OnnxDataType.Float, [.. inputShape.Cast<object?>()]);
            writeModel(m, seed);
            m.AddOutput("y", OnnxDataType.Float);
            m.Save(path);
        }
        static NetworkDefinition Load(string path) => OnnxImporter.Import(OnnxModel.Parse(File.ReadAllBytes(path), null), "m");
        var engine = EngineBuilder.Build(Load(v1), config);
        checkPlan(engine);
        new Refitter(engine).Refit(WeightSources.FromFile(v2));
        var fresh = EngineBuilder.Build(Load(v2), config);

        float[] x = ErrorMetrics.RandomValues(5, inputShape.Aggregate(1, (a, d) => a * d));
        float[] refitted = Run(engine, x);
        var expected = OrtOracle.Run(File.ReadAllBytes(v2), new Dictionary<string, (int[], float[])> { ["x"] = (inputShape, x) })["y"].Data;
        Assert.True(ErrorMetrics.RelativeL2(refitted, expected) <= 1e-5, $"refitted vs ONNX Runtime: {ErrorMetrics.RelativeL2(refitted, expected):E2}");
        Assert.Equal(Run(fresh, x), refitted);
    }

    /// <summary>Output 0 of the engine on input x, in a fresh execution context.</summary>
    public static float[] Run(Engine engine, float[] x)
    {
        var context = engine.CreateExecutionContext();
        var y = new float[context.GetOutputShape(0).Aggregate(1, (a, d) => a * d)];
        context.Execute([x], [y]);
        return y;
    }
}
