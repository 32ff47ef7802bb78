using TrtEngine.Core.Onnx;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Network;
using TrtEngine.Native.Refit;

namespace TrtEngine.Core.Refit;

/// <summary>Reads refit weights, by the model's weight names, from an ONNX model, a safetensors file or in-memory arrays.</summary>
public static class WeightSources
{
    /// <summary>An .onnx model (its initializers and Constant nodes) or a .safetensors checkpoint, by extension.</summary>
    public static IReadOnlyDictionary<string, WeightValue> FromFile(string path)
    {
        string extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".onnx" => FromNetwork(OnnxImporter.Import(OnnxModel.Load(path), Path.GetFileNameWithoutExtension(path))),
            ".safetensors" => FromTensors(SafetensorsFile.Load(path).Tensors),
            _ => throw new WeightFormatException($"Cannot read weights from '{path}': use an .onnx model or a .safetensors file."),
        };
    }

    /// <summary>The weights a network was built from (not those it computes from them: a refit recomputes those).</summary>
    public static IReadOnlyDictionary<string, WeightValue> FromNetwork(NetworkDefinition network) =>
        network.Weights.Where(w => w.Kind != WeightKind.Computed).ToDictionary(w => w.Name, w => new WeightValue(w.Shape, w.Values), StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, WeightValue> FromTensors(IReadOnlyDictionary<string, WeightTensor> tensors) =>
        tensors.Values.ToDictionary(t => t.Name, t => new WeightValue(t.Shape, t.Data), StringComparer.Ordinal);

    /// <summary>Flat arrays by name; each takes the engine's shape for that weight when its length fits (else it stays 1-D and the refit reports the mismatch).</summary>
    public static IReadOnlyDictionary<string, WeightValue> FromArrays(IReadOnlyDictionary<string, float[]> arrays, Engines.TrtEngine engine)
    {
        var shapes = engine.Native.Plan.ModelWeights.ToDictionary(m => m.Name, m => m.Shape, StringComparer.Ordinal);
        return arrays.ToDictionary(a => a.Key, a =>
            new WeightValue(shapes.TryGetValue(a.Key, out var s) && Shapes.ElementCount(s) == a.Value.LongLength ? s : [a.Value.Length], a.Value),
            StringComparer.Ordinal);
    }
}
