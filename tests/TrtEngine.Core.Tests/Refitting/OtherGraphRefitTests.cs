using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// A refit from an ONNX model tells whether the model is the graph the engine was built from: names and shapes alone
/// let a model with another operator and the same weights through, and the engine would keep computing its own graph.
/// Other weights, or other Constant-node values (weights a refit may change), are the same graph.
/// </summary>
public sealed class OtherGraphRefitTests
{
    /// <summary>x → Gemm(w1) → activation → Gemm(w2) → × Constant c → y.</summary>
    private static string Model(TempDirectory dir, string name, string activation = "Relu", int seed = 1, float constant = 0.5f)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 1, 8);
        m.AddInitializer("w1", ErrorMetrics.RandomValues(seed, 8 * 16), [8, 16]);
        m.AddInitializer("w2", ErrorMetrics.RandomValues(seed + 1, 16 * 4), [16, 4]);
        m.AddNode("Gemm", ["x", "w1"], ["h"]);
        m.AddNode(activation, ["h"], ["a"]);
        m.AddNode("Gemm", ["a", "w2"], ["g"]);
        m.AddNode("Constant", [], ["c"], ("value", TensorValue.Scalar(constant)));
        m.AddNode("Mul", ["g", "c"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        string path = dir.File(name + ".onnx");
        m.Save(path);
        return path;
    }

    [Fact]
    public void Another_operator_with_the_same_weights_is_another_graph_and_other_weights_are_not()
    {
        using var dir = new TempDirectory();
        using var engine = EngineConverter.Convert(Model(dir, "m"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        bool OtherGraph(string path)
        {
            using var file = WeightFile.Read(path, engine);
            return file.OtherGraph;
        }
        Assert.False(OtherGraph(Model(dir, "same")));
        Assert.False(OtherGraph(Model(dir, "weights", seed: 5)));
        Assert.False(OtherGraph(Model(dir, "constant", constant: 0.25f)));
        Assert.True(OtherGraph(Model(dir, "tanh", activation: "Tanh")));
        // A safetensors checkpoint has no graph to compare.
        string checkpoint = dir.File("w.safetensors");
        Testing.Weights.SafetensorsWriter.Write(checkpoint, WeightSources.FromFile(Model(dir, "tanh2", activation: "Tanh")).Select(w => (w.Key, w.Value.Shape, w.Value.Data)));
        Assert.False(OtherGraph(checkpoint));
    }

    [Fact]
    public void The_engine_keeps_the_graph_it_was_built_from_through_export_and_import()
    {
        using var dir = new TempDirectory();
        using var engine = EngineConverter.Convert(Model(dir, "m"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        Assert.Matches("^[0-9a-f]{64}$", engine.Native.Plan.StructureDigest);
        var stream = new MemoryStream();
        engine.Export(stream, includeWeights: false);
        using var imported = Engines.TrtEngine.Import(stream.ToArray());
        Assert.Equal(engine.Native.Plan.StructureDigest, imported.Native.Plan.StructureDigest);
        using var file = WeightFile.Read(Model(dir, "tanh", activation: "Tanh"), imported);
        Assert.True(file.OtherGraph);
    }
}
