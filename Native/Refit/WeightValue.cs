namespace TrtEngine.Native.Refit;

/// <summary>New values for one model weight: its shape and float32 data.</summary>
public sealed record WeightValue(int[] Shape, float[] Data);
