using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace TrtEngine.Testing.Fixtures;

/// <summary>
/// A real model kept in the repository without its weights (tests/fixtures/models, made by
/// tests/fixtures/export_seeded_models.py): the ONNX graph whose initializers live in an external
/// NAME.weights.bin, regenerated here bit for bit from a counter-based generator, plus torch's outputs
/// for weight versions 1 and 2.
/// </summary>
public sealed class SeededModel
{
    private sealed record WeightSpec(string Name, string Seed, int[] Shape, double Lo, double Hi, long Offset);

    private readonly string _directory;
    private readonly string _graphFile;
    private readonly string _weightsFile;
    private readonly WeightSpec _input;
    private readonly WeightSpec[] _weights;

    private SeededModel(string directory, string name, JsonElement root)
    {
        _directory = directory;
        Name = name;
        _graphFile = root.GetProperty("model").GetString()!;
        _weightsFile = root.GetProperty("weightsFile").GetString()!;
        _input = ReadSpec(root.GetProperty("input"));
        _weights = root.GetProperty("weights").EnumerateArray().Select(ReadSpec).ToArray();
    }

    public string Name { get; }

    public string InputName => _input.Name;

    public int[] InputShape => _input.Shape;

    /// <summary>The input torch's reference outputs were computed for.</summary>
    public float[] Input => Generate(0, _input.Seed, Count(_input.Shape), _input.Lo, _input.Hi);

    /// <summary>torch's outputs for one weight version (NAME_vV.ref.json.gz).</summary>
    public string ReferencePath(int version) => Path.Combine(_directory, $"{Name}_v{version}.ref.json.gz");

    public static SeededModel Load(string fixtureDirectory, string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(fixtureDirectory, $"{name}.fixture.json")));
        return new SeededModel(fixtureDirectory, name, doc.RootElement);
    }

    /// <summary>The model's weights for one version, by their ONNX initializer names.</summary>
    public IEnumerable<(string Name, int[] Shape, float[] Data)> Weights(int version) =>
        _weights.Select(w => (w.Name, w.Shape, Generate(version, w.Seed, Count(w.Shape), w.Lo, w.Hi)));

    /// <summary>Writes the graph and its weights file for one version into a directory; returns the model's path.</summary>
    public string Materialize(string directory, int version)
    {
        Directory.CreateDirectory(directory);
        string modelPath = Path.Combine(directory, _graphFile);
        File.Copy(Path.Combine(_directory, _graphFile), modelPath, overwrite: true);
        using var blob = File.Create(Path.Combine(directory, _weightsFile));
        foreach (var (spec, (_, _, data)) in _weights.Zip(Weights(version)))
        {
            blob.Position = spec.Offset;
            blob.Write(MemoryMarshal.AsBytes(data.AsSpan())); // little-endian, as ONNX stores it
        }
        return modelPath;
    }

    /// <summary>
    /// The generator of export_seeded_models.py: a murmur3 finalizer over (index · golden ratio + a seed
    /// hashed from "version:name"), its top 24 bits as a uniform in [0, 1), mapped to [lo, hi) in double.
    /// </summary>
    public static float[] Generate(int version, string seedName, int count, double lo, double hi)
    {
        uint seed = Fnv1a32($"{version}:{seedName}");
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            uint x = unchecked((uint)i * 0x9E3779B9u + seed);
            x ^= x >> 16;
            x = unchecked(x * 0x85EBCA6Bu);
            x ^= x >> 13;
            x = unchecked(x * 0xC2B2AE35u);
            x ^= x >> 16;
            double u = (x >> 8) * (1.0 / (1 << 24));
            values[i] = (float)(lo + (hi - lo) * u);
        }
        return values;
    }

    private static uint Fnv1a32(string text)
    {
        uint hash = 0x811C9DC5;
        foreach (byte b in Encoding.UTF8.GetBytes(text))
            hash = unchecked((hash ^ b) * 0x01000193u);
        return hash;
    }

    private static int Count(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    private static WeightSpec ReadSpec(JsonElement e) => new(
        e.GetProperty("name").GetString()!,
        e.GetProperty("seed").GetString()!,
        e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray(),
        e.GetProperty("lo").GetDouble(),
        e.GetProperty("hi").GetDouble(),
        e.TryGetProperty("offset", out var offset) ? offset.GetInt64() : 0);
}
