namespace TrtEngine.Native.Kernels;

/// <summary>How a channels-last convolution holds its weight; the numbers are part of the plan format.</summary>
public enum ConvPacking
{
    /// <summary>The B operand of a GEMM, [kh·kw·inC, outC] packed in the tactic's column panels.</summary>
    Gemm = 0,

    /// <summary>
    /// One filter tap per row, channels contiguous: [kh·kw, channels]; for groups of 2 or 4 channels, a row per tap and
    /// input of the group: [kh·kw·G, channels].
    /// </summary>
    Depthwise = 1,

    /// <summary>Winograd F(4×4, 3×3): for each of the 36 transformed positions, the GEMM B operand [inC, outC] in the
    /// tactic's column panels (<see cref="WinogradTransforms.PackWeights"/>).</summary>
    Winograd4x4 = 2,

    /// <summary>Winograd F(2×2, 3×3): the same for its 16 positions.</summary>
    Winograd2x2 = 3,

    /// <summary>Winograd F(3×3, 3×3): the same for its 25 positions.</summary>
    Winograd3x3 = 4,
}
