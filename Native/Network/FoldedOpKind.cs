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

    /// <summary>
    /// A strided slice (Slice, a part of a Split, a Gather of evenly spaced indices): Ints = [start, step and count of
    /// each input axis]; the output holds the counts' elements in row-major order, in the recorded shape (a Gather of
    /// one index drops its axis).
    /// </summary>
    Slice = 6,
}
