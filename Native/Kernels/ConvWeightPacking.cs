using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>Reorders an OIHW convolution weight into the layout a channels-last kernel reads.</summary>
public static unsafe class ConvWeightPacking
{
    /// <summary>
    /// w holds [outC, k] with k = inC·taps in OIHW order (taps = kh·kw), each output channel o scaled by factors[o]
    /// when factors is not null (a folded BatchNormalization). Gemm: B[t·inC + c, o] = w[o, c, t]·factors[o] in the
    /// tactic's column panels (as <see cref="GemmKernels.PackB(float*, int, int, bool, float, GemmTactic, float*)"/>);
    /// Depthwise (k = taps, or taps·G for groups of G = 2 or 4 channels): d[t·G + i, o] = w[o, i, t]·factors[o]; Winograd (4x4, 3x3, 2x2): see <see cref="WinogradTransforms.PackWeights"/>.
    /// Gemm and Winograd write only the column panels [<paramref name="firstPanel"/>, <paramref name="endPanel"/>) of
    /// the tactic's width (a refit packs parts of a large weight on several threads), with streaming stores when
    /// <paramref name="stream"/> (<see cref="PackingKernels.Panels"/>); Depthwise is one panel. A refit runs this for
    /// every convolution. Returns the sum of w[o]·factors[o] over every value read (NaN or infinity when
    /// one of them is; see <see cref="PackingKernels"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Pack(float* w, long length, ConvPacking form, int outChannels, int k, int taps, int tacticId, float* factors, float* packed,
                             int firstPanel, int endPanel, bool stream = false)
    {
        if (length != (long)outChannels * k || taps < 1 || k % taps != 0)
            throw new ArgumentException($"A convolution weight of {length} values does not hold {outChannels}×{k} in {taps} taps.");
        // Depthwise is the same reorder with one input channel per group: d[t, o] = w[o, t] in a single panel of outC columns.
        if (form == ConvPacking.Depthwise)
            return PackingKernels.ScaledTranspose(w, outChannels, k, taps, 1f, factors, packed, outChannels);
        var tactic = GemmKernels.Tactics[tacticId];
        if (WinogradTile(form) is > 0 and var tile)
        {
            if (taps != 9) throw new ArgumentException($"A Winograd weight has 3×3 taps, not {taps}.");
            return WinogradTransforms.PackWeights(tile, w, outChannels, k / taps, factors, tactic, packed, firstPanel, endPanel, stream);
        }
        // Output channel o is column o % nr of panel o / nr; its row t·inC + c takes w[o, c, t].
        return PackingKernels.Panels(w, outChannels, k, true, taps, 1f, factors, tactic.Nr, packed, firstPanel, endPanel, stream);
    }

    /// <summary>Floats of a weight [outC, k = inC·taps] once <see cref="Pack"/> has packed it in this form for the tactic.</summary>
    public static long PackedLength(ConvPacking form, int outChannels, int k, int taps, int tacticId) =>
        form == ConvPacking.Depthwise ? (long)outChannels * k
        : WinogradTile(form) is > 0 and var tile ? WinogradTransforms.PackedLength(tile, k / taps, outChannels, GemmKernels.Tactics[tacticId])
        : GemmKernels.PackedLength(k, outChannels, GemmKernels.Tactics[tacticId]);

    /// <summary>The output tile of a Winograd packing (4, 3 or 2); 0 for the others.</summary>
    public static int WinogradTile(ConvPacking form) => form switch
    {
        ConvPacking.Winograd4x4 => 4,
        ConvPacking.Winograd3x3 => 3,
        ConvPacking.Winograd2x2 => 2,
        _ => 0,
    };
}
