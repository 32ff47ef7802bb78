using System.IO.Compression;
using System.Text.Json;

namespace TrtEngine.Testing.References;

/// <summary>A model's reference data (NAME.ref.json.gz): the inputs fed to torch, when kept, and torch's outputs.</summary>
public sealed class TorchReference
{
    public required IReadOnlyDictionary<string, (int[] Shape, float[] Data)> Inputs { get; init; }
    public required IReadOnlyDictionary<string, (int[] Shape, float[] Data)> Outputs { get; init; }

    public static TorchReference Load(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var doc = JsonDocument.Parse(gzip);
        // Seeded fixtures regenerate their input and keep only the outputs.
        var inputs = doc.RootElement.TryGetProperty("inputs", out var section) ? Read(section) : [];
        return new TorchReference { Inputs = inputs, Outputs = Read(doc.RootElement.GetProperty("outputs")) };
    }

    private static Dictionary<string, (int[] Shape, float[] Data)> Read(JsonElement section) =>
        section.EnumerateObject().ToDictionary(
            p => p.Name,
            p => (p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray(),
                  p.Value.GetProperty("data").EnumerateArray().Select(d => (float)d.GetDouble()).ToArray()));
}
