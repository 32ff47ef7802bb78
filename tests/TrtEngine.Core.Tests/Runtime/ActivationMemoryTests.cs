using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Runtime;

/// <summary>
/// Activation memory: tensors whose lifetimes do not overlap share the arena, one that is read again later (a skip
/// connection) keeps its place until then, and views share their source's memory.
/// </summary>
public sealed class ActivationMemoryTests
{
    private const int Width = 4096;

    [Fact]
    public void A_chain_reuses_two_buffers_beside_a_skip_connection_and_computes_what_onnx_runtime_does()
    {
        // x → h0 = x + w0 → h1 = Sigmoid(h0) → h2 = h1 + w2 → … → h7, then y = h7 + h0 (h0 lives to the end), flattened.
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 1, Width);
        string h = "x";
        for (int i = 0; i < 8; i++)
        {
            string next = $"h{i}";
            if (i % 2 == 0)
            {
                m.AddInitializer($"w{i}", ErrorMetrics.RandomValues(i, Width), [1, Width]);
                m.AddNode("Add", [h, $"w{i}"], [next]);
            }
            else m.AddNode(i % 4 == 1 ? "Sigmoid" : "Tanh", [h], [next]);
            h = next;
        }
        m.AddNode("Add", [h, "h0"], ["s"]);
        m.AddInitializer("shape", new long[] { Width }, [1]);
        m.AddNode("Reshape", ["s", "shape"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        byte[] model = m.ToBytes();
        string path = Path.Combine(Path.GetTempPath(), $"chain-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model);
        try
        {
            using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
            var plan = engine.Native.Plan;
            var memory = MemoryPlan.Create(plan, plan.Tensors.Select(t => t.Dims).ToArray());
            // Nine tensors of Width floats, and the view y: at most three live at once (h0, the one read, the one written).
            Assert.True(plan.Tensors.Length >= 10);
            Assert.True(memory.ArenaLength <= 3 * Width, $"arena of {memory.ArenaLength} floats for tensors of {Width}");
            int y = Array.FindIndex(plan.Tensors, t => t.Name == "y");
            Assert.NotEqual(Native.Layers.ValueRef.Tensor(y), memory.Storage[y]);

            float[] x = ErrorMetrics.RandomValues(9, Width);
            float[] expected = OrtOracle.Run(model, new Dictionary<string, (int[], float[])> { ["x"] = ([1, Width], x) })["y"].Data;
            float[] actual = engine.Run(new Dictionary<string, float[]> { ["x"] = x })[0].Data;
            Assert.True(ErrorMetrics.RelativeL2(actual, expected) < 1e-6, $"relative L2 {ErrorMetrics.RelativeL2(actual, expected):E2}");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
