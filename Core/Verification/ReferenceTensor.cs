namespace TrtEngine.Core.Verification;

/// <summary>A tensor of the reference execution: its shape and float64 values, row-major.</summary>
public sealed record ReferenceTensor(int[] Shape, double[] Data);
