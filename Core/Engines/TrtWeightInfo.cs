namespace TrtEngine.Core.Engines;

/// <summary>One engine weight: its layout and size, and the recipe that derives it from the model's weights.</summary>
public sealed class TrtWeightInfo
{
    public required string Name { get; init; }
    public required int[] Shape { get; init; }
    public required string Recipe { get; init; }
    public required string[] Sources { get; init; }
    public required long SizeBytes { get; init; }

    public override string ToString() => $"{Name} = {Recipe}";
}
