using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Network;

/// <summary>What a folded operation computes; numbers are part of the plan format.</summary>
public enum FoldedOpKind : byte
{
    /// <summary>The input's values under another shape (Reshape, Flatten, Squeeze, Unsqueeze).</summary>
    Copy = 1,

    /// <summary>Ints = the permutation.</summary>
    Transpose = 2,

    /// <summary>Two inputs with ONNX broadcasting; Ints = [<see cref="BinaryOp"/>].</summary>
    Binary = 3,

    /// <summary>Ints = [axis].</summary>
    Concat = 4,

    /// <summary>Two 2-D inputs.</summary>
    MatMul = 5,
}
