namespace TrtEngine.Native.Plan;

/// <summary>How an engine weight derives from model weights; numbers are part of the plan format.</summary>
public enum RecipeKind : byte
{
    /// <summary>The model weight as it is.</summary>
    Identity = 1,

    /// <summary>Every element times Floats[0], broadcast to Ints[0] elements when the source has one element.</summary>
    Scale = 2,

    /// <summary>A GEMM B operand packed for a tactic: Ints = [k, n, transB, tactic id], Floats = [alpha].</summary>
    PackGemmB = 3,

    /// <summary>A convolution weight with a BatchNormalization folded in: Sources = [w, scale, variance], Floats = [epsilon];
    /// w[o, …] × scale[o] / √(variance[o] + ε).</summary>
    FoldBatchNormWeight = 4,

    /// <summary>The matching bias: Sources = [bias?, scale, shift, mean, variance], Ints = [1 if the convolution had a bias],
    /// Floats = [epsilon]; (bias[o] − mean[o]) × scale[o] / √(variance[o] + ε) + shift[o].</summary>
    FoldBatchNormBias = 5,

    /// <summary>A convolution weight [outC, inC, kh, kw] for a channels-last kernel, after folding a BatchNormalization
    /// when Sources = [w, scale, variance] (Floats = [epsilon]); Ints = [form, outC, k, taps = kh·kw, tactic id].
    /// Form 0: the GEMM B operand [k = kh·kw·inC (kh, kw, c order), outC] packed for the tactic; form 1 (depthwise):
    /// [kh·kw, channels]; forms 2, 3 and 4 (Winograd F(4×4, 3×3), F(2×2, 3×3) and F(3×3, 3×3), taps = 9): G·w·Gᵀ, the
    /// GEMM B operand [inC, outC] of each of the 36, 16 or 25 positions packed for the tactic.</summary>
    PackConv = 6,
}
