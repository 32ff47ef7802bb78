namespace TrtEngine.Native.Kernels;

/// <summary>Element-wise binary operations with ONNX broadcasting.</summary>
public enum BinaryOp : byte
{
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Pow,
}
