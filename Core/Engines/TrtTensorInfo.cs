namespace TrtEngine.Core.Engines;

/// <summary>An engine input or output: its name, element type, dims (-1 where dynamic) and, for inputs, the shapes it accepts.</summary>
public sealed class TrtTensorInfo
{
    public required string Name { get; init; }
    public string DataType { get; init; } = "Float32";
    public required int[] Shape { get; init; }
    public int[]? MinShape { get; init; }
    public int[]? OptShape { get; init; }
    public int[]? MaxShape { get; init; }

    public override string ToString() => $"{Name}[{string.Join(", ", Shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
}
