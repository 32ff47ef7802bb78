namespace TrtEngine.Core.Conversion;

/// <summary>A step of a conversion: the phase, how far it is (Current of Total), and what it works on.</summary>
public readonly record struct ConversionProgress(string Phase, int Current, int Total, string Detail);
