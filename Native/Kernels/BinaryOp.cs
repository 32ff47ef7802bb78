namespace TrtEngine.Native.Kernels;

/// <summary>Element-wise binary operations with ONNX broadcasting. The comparisons give 1 where true and 0 where false (the engine's booleans).</summary>
public enum BinaryOp : byte
{
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Pow,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
}
