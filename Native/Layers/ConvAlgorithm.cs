namespace TrtEngine.Native.Layers;

/// <summary>How a convolution is computed; the numbers are part of the plan format.</summary>
public enum ConvAlgorithm : byte
{
    /// <summary>Unfold the windows (im2col), then one GEMM with the weight.</summary>
    Im2ColGemm = 0,

    /// <summary>A 1×1, stride-1, unpadded convolution: the image itself is the GEMM operand.</summary>
    PointwiseGemm = 1,

    /// <summary>One filter per channel, computed directly.</summary>
    Depthwise = 2,

    /// <summary>Winograd F(4×4, 3×3): 3×3, stride 1, dilation 1, one group, channels-last.</summary>
    Winograd4x4 = 3,

    /// <summary>Winograd F(2×2, 3×3), for the same convolutions: more multiplies, a transformed weight 16/9 the kernel's
    /// size instead of 4×.</summary>
    Winograd2x2 = 4,

    /// <summary>Winograd F(3×3, 3×3), for the same convolutions: between the two (a transformed weight 25/9 of the
    /// kernel's size).</summary>
    Winograd3x3 = 5,

    /// <summary>Groups of 2 or 4 channels in and out, channels-last, computed directly (<see cref="Kernels.GroupedConvJob"/>):
    /// ResNeXt-50's first stage, whose groups would half fill the narrowest GEMM panel.</summary>
    GroupedDirect = 6,
}
