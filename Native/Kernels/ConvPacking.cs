namespace TrtEngine.Native.Kernels;

/// <summary>How a channels-last convolution holds its weight; the numbers are part of the plan format.</summary>
public enum ConvPacking
{
    /// <summary>The B operand of a GEMM, [kh·kw·inC, outC] packed in the tactic's column panels.</summary>
    Gemm = 0,

    /// <summary>One filter tap per row, channels contiguous: [kh·kw, channels].</summary>
    Depthwise = 1,
}
