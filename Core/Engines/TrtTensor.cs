namespace TrtEngine.Core.Engines;

/// <summary>A tensor produced by an engine: name, shape, element type and the values, flattened row-major.</summary>
public sealed class TrtTensor
{
    public required string Name { get; init; }
    public required int[] Shape { get; init; }
    public string DataType { get; init; } = "Float32";
    public required float[] Data { get; init; }

    public override string ToString() => $"{Name}[{string.Join(", ", Shape)}]";
}
