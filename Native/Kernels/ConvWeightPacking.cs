using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>Reorders an OIHW convolution weight into the layout a channels-last kernel reads.</summary>
public static unsafe class ConvWeightPacking
{
    /// <summary>
    /// w holds [outC, k] with k = inC·taps in OIHW order (taps = kh·kw). Gemm: B[t·inC + c, o] = w[o, c, t], packed in
    /// the tactic's panels; Depthwise (k = taps): d[t, o] = w[o, t].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(float* w, long length, ConvPacking form, int outChannels, int k, int taps, int tacticId, float* packed)
    {
        if (length != (long)outChannels * k || taps < 1 || k % taps != 0)
            throw new ArgumentException($"A convolution weight of {length} values does not hold {outChannels}×{k} in {taps} taps.");
        if (form == ConvPacking.Depthwise)
        {
            for (int o = 0; o < outChannels; o++)
                for (int t = 0; t < k; t++)
                    packed[(nint)t * outChannels + o] = w[(nint)o * k + t];
            return;
        }
        int inC = k / taps;
        var reordered = GC.AllocateUninitializedArray<float>(checked(outChannels * k));
        fixed (float* r = reordered)
        {
            // Each output channel's row goes from (c, t) order to (t, c): the row of the transposed B operand.
            for (int o = 0; o < outChannels; o++)
            {
                float* src = w + (nint)o * k, dst = r + (nint)o * k;
                for (int c = 0; c < inC; c++)
                    for (int t = 0; t < taps; t++)
                        dst[t * inC + c] = src[c * taps + t];
            }
            GemmKernels.PackB(r, k, outChannels, transB: true, 1f, GemmKernels.Tactics[tacticId], packed);
        }
    }
}
