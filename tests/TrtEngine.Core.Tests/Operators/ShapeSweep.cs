using TrtEngine.Native.Network;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>One execution context of an engine run at several input shapes in turn, each against ONNX Runtime.</summary>
internal static class ShapeSweep
{
    /// <summary>Runs input "x" at each shape (fresh random values from <paramref name="seed"/> on) and checks output "y", relative L2 ≤ 1e-5.</summary>
    public static void AssertMatchesOnnxRuntime(Engine engine, byte[] model, IEnumerable<int[]> shapes, int seed)
    {
        var context = engine.CreateExecutionContext();
        foreach (int[] shape in shapes)
        {
            float[] x = ErrorMetrics.RandomValues(seed++, shape.Aggregate(1, (a, d) => a * d));
            context.SetInputShape(0, shape);
            var y = new float[context.GetOutputShape(0).Aggregate(1, (a, d) => a * d)];
            context.Execute([x], [y]);
            var expected = OrtOracle.Run(model, new Dictionary<string, (int[], float[])> { ["x"] = (shape, x) })["y"];
            Assert.Equal(expected.Shape, context.GetOutputShape(0));
            Assert.True(ErrorMetrics.RelativeL2(y, expected.Data) <= 1e-5, $"{Shapes.Format(shape)}: relative L2 {ErrorMetrics.RelativeL2(y, expected.Data):E2}");
        }
    }
}
