using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TrtEngine.Testing.Oracle;

/// <summary>ONNX Runtime on the CPU as the reference for every operator and model.</summary>
public static class OrtOracle
{
    public static Dictionary<string, (int[] Shape, float[] Data)> Run(byte[] model, IReadOnlyDictionary<string, (int[] Shape, float[] Data)> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model, options);
        return Run(session, inputs);
    }

    /// <summary>A model file, for models whose weights are external data next to it.</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> Run(string modelPath, IReadOnlyDictionary<string, (int[] Shape, float[] Data)> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(modelPath, options);
        return Run(session, inputs);
    }

    private static Dictionary<string, (int[] Shape, float[] Data)> Run(InferenceSession session, IReadOnlyDictionary<string, (int[] Shape, float[] Data)> inputs)
    {
        var feeds = inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Key, new DenseTensor<float>(i.Value.Data, i.Value.Shape))).ToList();
        using var results = session.Run(feeds);
        return results.ToDictionary(r => r.Name, r =>
        {
            var tensor = r.AsTensor<float>();
            return (tensor.Dimensions.ToArray(), tensor.ToArray());
        });
    }
}
