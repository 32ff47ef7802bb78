namespace TrtEngine.Core.Onnx;

/// <summary>One dimension of a value's shape: a fixed size, a symbolic name, or unknown.</summary>
public readonly record struct OnnxDim(long? Value, string? Param)
{
    public bool IsFixed => Value.HasValue;

    public override string ToString() => Value?.ToString() ?? Param ?? "?";
}
