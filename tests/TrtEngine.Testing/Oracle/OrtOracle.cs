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

    /// <summary>An input as the model declares it: integer and bool inputs from their values given as floats.</summary>
    private static NamedOnnxValue Feed(InferenceSession session, string name, int[] shape, float[] data) =>
        session.InputMetadata.TryGetValue(name, out var meta) && meta.ElementType != typeof(float)
            ? meta.ElementType == typeof(long) ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(Array.ConvertAll(data, v => (long)v), shape))
            : meta.ElementType == typeof(int) ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(Array.ConvertAll(data, v => (int)v), shape))
            : meta.ElementType == typeof(bool) ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(Array.ConvertAll(data, v => v != 0), shape))
            : throw new NotSupportedException($"Input '{name}' is {meta.ElementType}.")
            : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(data, shape));

    private static Dictionary<string, (int[] Shape, float[] Data)> Run(InferenceSession session, IReadOnlyDictionary<string, (int[] Shape, float[] Data)> inputs)
    {
        var feeds = inputs.Select(i => Feed(session, i.Key, i.Value.Shape, i.Value.Data)).ToList();
        using var results = session.Run(feeds);
        return results.ToDictionary(r => r.Name, r =>
        {
            // Integer and bool outputs as floats, as the engine gives them.
            var value = r.Value;
            return value switch
            {
                Tensor<long> l => (l.Dimensions.ToArray(), Array.ConvertAll(l.ToArray(), v => (float)v)),
                Tensor<int> i => (i.Dimensions.ToArray(), Array.ConvertAll(i.ToArray(), v => (float)v)),
                Tensor<bool> b => (b.Dimensions.ToArray(), Array.ConvertAll(b.ToArray(), v => v ? 1f : 0f)),
                _ => (r.AsTensor<float>().Dimensions.ToArray(), r.AsTensor<float>().ToArray()),
            };
        });
    }
}
