using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>Reorders an OIHW convolution weight into the layout a channels-last kernel reads.</summary>
public static unsafe class ConvWeightPacking
{
    /// <summary>
    /// w holds [outC, k] with k = inC·taps in OIHW order (taps = kh·kw), each output channel o scaled by factors[o]
    /// when factors is not null (a folded BatchNormalization). Gemm: B[t·inC + c, o] = w[o, c, t]·factors[o] in the
    /// tactic's column panels (as <see cref="GemmKernels.PackB"/>); Depthwise (k = taps): d[t, o] = w[o, t]·factors[o];
    /// Winograd: see <see cref="WinogradTransforms.PackWeights"/>.
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
        if (form == ConvPacking.Winograd)
        {
            if (taps != 9) throw new ArgumentException($"A Winograd weight has 3×3 taps, not {taps}.");
            WinogradTransforms.PackWeights(w, outChannels, inC, factors, tactic, packed);
            return;
        }
        if (outChannels % nr != 0)
            new Span<float>(packed + (nint)(outChannels / nr) * nr * k, nr * k).Clear(); // the padding columns of the last panel
        // Output channel o is column o % nr of panel o / nr; its row t·inC + c takes w[o, c, t]. The rows go in blocks
        // whose nr-wide slice of the panel stays in L1 while every column of the panel is written into it.
        const int RowBlock = 64;
        for (int o0 = 0; o0 < outChannels; o0 += nr)
        {
            float* panel = packed + (nint)(o0 / nr) * nr * k;
            int columns = Math.Min(nr, outChannels - o0);
            for (int t = 0; t < taps; t++)
                for (int c0 = 0; c0 < inC; c0 += RowBlock)
                {
                    int c1 = Math.Min(inC, c0 + RowBlock);
                    for (int j = 0; j < columns; j++)
                    {
                        float* src = w + (nint)(o0 + j) * k + t;
                        float* dst = panel + ((nint)t * inC) * nr + j;
                        float factor = factors == null ? 1f : factors[o0 + j];
                        for (int c = c0; c < c1; c++)
                            dst[(nint)c * nr] = factors == null ? src[(nint)c * taps] : src[(nint)c * taps] * factor;
                    }
                }
        }
    }
}
