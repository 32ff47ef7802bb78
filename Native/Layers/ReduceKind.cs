namespace TrtEngine.Native.Layers;

/// <summary>The reduction a Reduce layer applies.</summary>
public enum ReduceKind : byte
{
    Mean,
    Sum,
    Max,
}
