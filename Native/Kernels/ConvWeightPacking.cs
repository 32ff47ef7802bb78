using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>Reorders an OIHW convolution weight into the layout a channels-last kernel reads.</summary>
public static unsafe class ConvWeightPacking
{
    /// <summary>
    /// w holds [outC, k] with k = inC·taps in OIHW order (taps = kh·kw), each output channel o scaled by factors[o]
    /// when factors is not null (a folded BatchNormalization). Gemm: B[t·inC + c, o] = w[o, c, t]·factors[o] in the
    /// tactic's column panels (as <see cref="GemmKernels.PackB"/>); Depthwise (k = taps): d[t, o] = w[o, t]·factors[o].
    /// One pass, reading w in order; a refit runs this for every convolution.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(float* w, long length, ConvPacking form, int outChannels, int k, int taps, int tacticId, float* factors, float* packed)
    {
        if (length != (long)outChannels * k || taps < 1 || k % taps != 0)
            throw new ArgumentException($"A convolution weight of {length} values does not hold {outChannels}×{k} in {taps} taps.");
        if (form == ConvPacking.Depthwise)
        {
            for (int o = 0; o < outChannels; o++)
            {
                float factor = factors == null ? 1f : factors[o];
                for (int t = 0; t < k; t++)
                    packed[(nint)t * outChannels + o] = factors == null ? w[(nint)o * k + t] : w[(nint)o * k + t] * factor;
            }
            return;
        }
        var tactic = GemmKernels.Tactics[tacticId];
        int nr = tactic.Nr, inC = k / taps;
        if (outChannels % nr != 0)
            new Span<float>(packed + (nint)(outChannels / nr) * nr * k, nr * k).Clear(); // the padding columns of the last panel
        for (int o = 0; o < outChannels; o++)
        {
            // Output channel o is column o % nr of panel o / nr; its row t·inC + c takes w[o, c, t].
            float* src = w + (nint)o * k, column = packed + (nint)(o / nr) * nr * k + o % nr;
            float factor = factors == null ? 1f : factors[o];
            for (int c = 0; c < inC; c++, src += taps)
                for (int t = 0; t < taps; t++)
                    column[((nint)t * inC + c) * nr] = factors == null ? src[t] : src[t] * factor;
        }
    }
}
