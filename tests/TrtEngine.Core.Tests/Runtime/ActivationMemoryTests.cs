using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Runtime;

/// <summary>
/// Activation memory: tensors whose lifetimes do not overlap share the arena, one that is read again later (a skip
/// connection) keeps its place until then, views share their source's memory, and the network's inputs are read in
/// the caller's arrays.
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
        WithEngine(model, (engine, plan, memory) =>
        {
            // Nine tensors of Width floats, and the view y: at most three live at once (h0, the one read, the one written).
            Assert.True(plan.Tensors.Length >= 10);
            Assert.True(memory.ArenaLength <= 3 * Width, $"arena of {memory.ArenaLength} floats for tensors of {Width}");
            int y = Array.FindIndex(plan.Tensors, t => t.Name == "y");
            Assert.NotEqual(Native.Layers.ValueRef.Tensor(y), memory.Storage[y]);

            float[] x = ErrorMetrics.RandomValues(9, Width);
            float[] expected = OrtOracle.Run(model, new Dictionary<string, (int[], float[])> { ["x"] = ([1, Width], x) })["y"].Data;
            float[] actual = engine.Run(new Dictionary<string, float[]> { ["x"] = x })[0].Data;
            Assert.True(ErrorMetrics.RelativeL2(actual, expected) < 1e-6, $"relative L2 {ErrorMetrics.RelativeL2(actual, expected):E2}");
        });
    }

    [Fact]
    public void The_inputs_are_read_where_the_caller_keeps_them_and_never_written()
    {
        // x is read by an Add, viewed by a Reshape that is an output and passed through as an output itself; a second
        // input feeds a channels-last stem that reads its planes. The arena holds neither input, and after the calls
        // the caller's arrays are as they were.
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 1, Width);
        m.AddInput("image", OnnxDataType.Float, 2, 3, 17, 15);
        m.AddInitializer("w", ErrorMetrics.RandomValues(1, Width), [1, Width]);
        m.AddInitializer("shape", new long[] { Width }, [1]);
        m.AddInitializer("stem", ErrorMetrics.RandomValues(2, 16 * 27), [16, 3, 3, 3]);
        m.AddInitializer("one", [1f], [1]);
        m.AddNode("Add", ["x", "w"], ["a"]);
        m.AddNode("Sigmoid", ["a"], ["y"]);
        m.AddNode("Reshape", ["x", "shape"], ["flat"]);
        m.AddNode("Identity", ["x"], ["same"]);
        m.AddNode("Conv", ["image", "stem"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { 2, 2 }));
        m.AddNode("Relu", ["c"], ["r"]);
        m.AddNode("Mul", ["r", "one"], ["features"]);
        foreach (string output in new[] { "y", "flat", "same", "features" }) m.AddOutput(output, OnnxDataType.Float);
        byte[] model = m.ToBytes();
        WithEngine(model, (engine, plan, memory) =>
        {
            Assert.All(plan.Inputs, input => Assert.Equal(-1, memory.Offsets[input]));

            float[] x = ErrorMetrics.RandomValues(3, Width), image = ErrorMetrics.RandomValues(4, 2 * 3 * 17 * 15);
            float[] xBefore = (float[])x.Clone(), imageBefore = (float[])image.Clone();
            var expected = OrtOracle.Run(model, new Dictionary<string, (int[], float[])> { ["x"] = ([1, Width], x), ["image"] = ([2, 3, 17, 15], image) });
            for (int call = 0; call < 3; call++)
            {
                var outputs = engine.Run(new Dictionary<string, float[]> { ["x"] = x, ["image"] = image }).ToDictionary(o => o.Name, o => o.Data);
                Assert.Equal(xBefore, x);
                Assert.Equal(imageBefore, image);
                Assert.Equal(xBefore, outputs["flat"]);
                Assert.Equal(xBefore, outputs["same"]);
                foreach (string name in new[] { "y", "features" })
                    Assert.True(ErrorMetrics.RelativeL2(outputs[name], expected[name].Data) < 1e-5, $"{name}: relative L2 {ErrorMetrics.RelativeL2(outputs[name], expected[name].Data):E2}");
                GC.Collect(); // the arrays move freely between calls: the engine keeps no pointer into them
            }
        });
    }

    [Fact]
    public void An_input_s_array_given_as_an_output_buffer_leaves_the_outputs_that_view_the_inputs_as_the_inputs_were()
    {
        // A caller computing in place hands x's array back as the buffer of y = Sigmoid(x), and the two inputs' arrays
        // to the outputs that pass the other input through: the outputs that are inputs or views of them must still
        // hold the inputs as given, not what another output wrote into their arrays.
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 1, Width);
        m.AddInput("z", OnnxDataType.Float, 1, Width);
        m.AddInitializer("shape", new long[] { Width }, [1]);
        m.AddNode("Sigmoid", ["x"], ["y"]);
        m.AddNode("Identity", ["x"], ["same"]);
        m.AddNode("Reshape", ["x", "shape"], ["flat"]);
        m.AddNode("Identity", ["z"], ["zsame"]);
        foreach (string output in new[] { "y", "same", "flat", "zsame" }) m.AddOutput(output, OnnxDataType.Float);
        WithEngine(m.ToBytes(), (engine, plan, _) =>
        {
            Assert.Equal(["y", "same", "flat", "zsame"], plan.Outputs.Select((_, o) => plan.OutputName(o)));
            var context = engine.Native.CreateExecutionContext();
            float[] x = ErrorMetrics.RandomValues(5, Width), z = ErrorMetrics.RandomValues(6, Width);
            float[] xBefore = (float[])x.Clone(), zBefore = (float[])z.Clone(), y = new float[Width], flat = new float[Width];
            // x passed through into z's array and z into x's: each array is read and written.
            context.Execute(new[] { x, z }, new[] { y, z, flat, x });
            Assert.Equal(xBefore, z);
            Assert.Equal(xBefore, flat);
            Assert.Equal(zBefore, x);
            // y into x's array, written before x is passed through into the next outputs.
            (x, z) = ((float[])xBefore.Clone(), (float[])zBefore.Clone());
            float[] same = new float[Width], zsame = new float[Width];
            context.Execute(new[] { x, z }, new[] { x, same, flat, zsame });
            Assert.Equal(y, x);
            Assert.Equal(xBefore, same);
            Assert.Equal(xBefore, flat);
            Assert.Equal(zBefore, zsame);
        });
    }

    /// <summary>Builds the model (level 0, no cache) and hands over the engine, its plan and the plan's memory at its shapes.</summary>
    private static void WithEngine(byte[] model, Action<Engines.TrtEngine, Native.Plan.EnginePlan, MemoryPlan> test)
    {
        string path = Path.Combine(Path.GetTempPath(), $"memory-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model);
        try
        {
            using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
            var plan = engine.Native.Plan;
            test(engine, plan, MemoryPlan.Create(plan, plan.Tensors.Select(t => t.Dims).ToArray()));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
