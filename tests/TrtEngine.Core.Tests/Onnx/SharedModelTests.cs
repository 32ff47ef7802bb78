using System.Diagnostics;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Weights;

namespace TrtEngine.Core.Tests.Onnx;

/// <summary>Reads the real PyTorch exports in ../shared/models; skipped where that folder is absent.</summary>
public class SharedModelTests
{
    [SkippableFact]
    public void MlpHasThreeGemmsThreeConstantsAndSixInitializers()
    {
        var model = OnnxModel.Load(TestPaths.SharedModel("mlp_v1.onnx"));

        Assert.Equal(17, model.DefaultOpset);
        Assert.Equal(3, model.Graph.Nodes.Count(n => n.OpType == "Gemm"));
        Assert.Equal(3, model.Graph.Nodes.Count(n => n.OpType == "Constant"));
        Assert.Equal(6, model.Graph.Initializers.Count);
        var weight = model.Graph.Initializers.Single(t => t.Name == "0.weight");
        var values = weight.ToSingleArray();
        Assert.Equal(784 * 512, values.Length);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(values, v => v != 0);
    }

    [SkippableFact]
    public void MobilenetHas52ConvolutionsAndParsesQuickly()
    {
        var path = TestPaths.SharedModel("mobilenet_v2_v1.onnx");
        var bytes = File.ReadAllBytes(path);
        OnnxModel.Parse(bytes, Path.GetDirectoryName(path));

        // Times the parse alone: reading 14 MB from disk depends on the machine, not on this code.
        var watch = Stopwatch.StartNew();
        var model = OnnxModel.Parse(bytes, Path.GetDirectoryName(path));
        watch.Stop();

        Assert.Equal(52, model.Graph.Nodes.Count(n => n.OpType == "Conv"));
        Assert.Contains(model.Graph.Nodes, n => n.OpType == "BatchNormalization");
        Assert.Equal([new OnnxDim(null, "batch"), new OnnxDim(3, null), new OnnxDim(224, null), new OnnxDim(224, null)],
            model.Graph.Inputs[0].Shape!);
        Assert.All(model.Graph.Initializers, t => Assert.Equal(t.ElementCount, t.ToSingleArray().Length));
        // Parsing takes a few milliseconds; the bound is loose because the test machine is shared.
        Assert.True(watch.ElapsedMilliseconds < 100, $"parsing took {watch.ElapsedMilliseconds} ms");
    }

    [SkippableFact]
    public void SqueezenetParsesWithItsSharedBiases()
    {
        var model = OnnxModel.Load(TestPaths.SharedModel("squeezenet1_1_v1.onnx"));

        Assert.Equal(26, model.Graph.Nodes.Count(n => n.OpType == "Conv"));
        Assert.Contains(model.Graph.Nodes, n => n.OpType == "Identity");
        var names = model.Graph.Initializers.Select(t => t.Name).ToHashSet();
        Assert.All(model.Graph.Nodes.Where(n => n.OpType == "Conv"),
            conv => Assert.True(names.Contains(conv.Inputs[1]), $"{conv} weight {conv.Inputs[1]} is not an initializer"));
    }

    [SkippableFact]
    public void WeightlessMlpSafetensorsMatchItsGraphInputsAndTheMlpInitializers()
    {
        var graph = OnnxModel.Load(TestPaths.SharedModel("mlp_v1_weightless.onnx")).Graph;
        var weights = SafetensorsFile.Load(TestPaths.SharedModel("mlp_v1_weightless.weights.safetensors")).Tensors;
        var initializers = OnnxModel.Load(TestPaths.SharedModel("mlp_v1.onnx")).Graph.Initializers.ToDictionary(t => t.Name);

        Assert.Empty(graph.Initializers);
        Assert.Equal(6, weights.Count);
        foreach (var weight in weights.Values)
        {
            var input = graph.Inputs.Single(i => i.Name == weight.Name);
            Assert.Equal(OnnxDataType.Float, input.ElementType);
            Assert.Equal(weight.Shape.Select(d => new OnnxDim(d, null)), input.Shape!);
            Assert.Equal(initializers[weight.Name].ToSingleArray(), weight.Data);
        }
    }
}
