using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// What the Winograd algorithms share: the tile sizes they come in, and the packing of a weight transformed by one
/// of them (<see cref="WinogradF4x4"/>, <see cref="WinogradF3x3"/>, <see cref="WinogradF2x2"/>). The kernels are
/// generic over the transform.
/// </summary>
internal static unsafe class WinogradTransforms
{
    /// <summary>Transformed positions of an algorithm of this output tile (2, 3 or 4): one GEMM each.</summary>
    public static int Positions(int tile) => tile switch
    {
        2 or 3 or 4 => (tile + 2) * (tile + 2),
        _ => throw new ArgumentOutOfRangeException(nameof(tile), tile, "Winograd runs output tiles of 2×2, 3×3 or 4×4."),
    };

    /// <summary>
    /// Floats of the packed weight: for each position of the algorithm of this output tile, the GEMM B operand
    /// [inC, outC] in the tactic's column panels (as <see cref="GemmKernels.PackB"/>).
    /// </summary>
    public static long PackedLength(int tile, int inChannels, int outChannels, GemmTactic tactic) =>
        (long)Positions(tile) * GemmKernels.PackedLength(inChannels, outChannels, tactic);

    /// <summary>
    /// U[p][c, o] = (G·g·Gᵀ)[p] for g = w[o, c] (3×3) × factors[o] when factors is not null, transformed by the
    /// algorithm of this output tile and packed per position for the tactic. Deterministic (plain float multiplies and
    /// adds, no fused ones), so a refit re-derives it bit for bit. Panel by panel: the panel's weights are first
    /// transposed (with the factors) to [inC·9, Nr], so each tap of eight neighbouring output channels is one vector
    /// load, and the transform runs eight channels per vector.
    /// Channels past outC (the last panel's padding) are zero in the transposed copy, so their transforms are zeros.
    /// The positions (36, 25 or 16) lie a whole [inC, outC] operand apart; storing to all of them in turn thrashes the
    /// caches (the strides alias), so a few input channels are transformed into a small block first and each position's
    /// rows then copied out as one contiguous run (streamed when <paramref name="stream"/>, each position's runs
    /// continuing one range over the panels: see <see cref="CopyKernels.StreamInOrder"/>). Only the panels
    /// [firstPanel, endPanel) are written. Returns the sum of the transposed copy's values, w[o, c]·factors[o] (see
    /// <see cref="PackingKernels"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float PackWeights(int tile, float* w, int outChannels, int inChannels, float* factors, GemmTactic tactic, float* packed, int firstPanel, int endPanel,
                                    bool stream = false)
    {
        int width = GemmMicroKernels.WideSupported && tactic.Nr % 16 == 0 ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;
        return (Positions(tile), width) switch
        {
            (16, 512) => PackWeights<WinogradF2x2, Float512, Vector512<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            (16, 256) => PackWeights<WinogradF2x2, Float256, Vector256<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            (16, _) => PackWeights<WinogradF2x2, Float128, Vector128<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            (25, 512) => PackWeights<WinogradF3x3, Float512, Vector512<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            (25, 256) => PackWeights<WinogradF3x3, Float256, Vector256<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            (25, _) => PackWeights<WinogradF3x3, Float128, Vector128<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            (36, 512) => PackWeights<WinogradF4x4, Float512, Vector512<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            (36, 256) => PackWeights<WinogradF4x4, Float256, Vector256<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            (36, _) => PackWeights<WinogradF4x4, Float128, Vector128<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream),
            _ => throw new ArgumentOutOfRangeException(nameof(tile), tile, "No Winograd algorithm has these output tiles."),
        };
    }

    /// <summary>
    /// <see cref="PackWeights(int, float*, int, int, float*, GemmTactic, float*, int, int, bool)"/> for one transform,
    /// on vectors of one width (every width gives the same bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float PackWeights<TW, TOps, TV>(float* w, int outChannels, int inChannels, float* factors, GemmTactic tactic, float* packed, int firstPanel, int endPanel,
                                                    bool stream)
        where TW : struct, IWinogradTransform where TOps : struct, IFloatVector<TV> where TV : struct
    {
        int positions = TW.InputTile * TW.InputTile;
        int nr = tactic.Nr, k = inChannels * 9, lanes = TOps.Count;
        // Input channels per block: 36 (25, 16) × block rows of Nr floats (18 KiB at most) stay in the L1 cache.
        int blockRows = Math.Max(1, 128 / nr);
        long perPosition = GemmKernels.PackedLength(inChannels, outChannels, tactic);
        // Then each position's line waiting to be completed (see CopyKernels.StreamInOrder).
        float[] rented = ArrayPool<float>.Shared.Rent(k * nr + positions * blockRows * nr + positions * CopyKernels.LineFloats + CopyKernels.LineFloats);
        int* lineStarts = stackalloc int[positions];
        float sum = 0;
        fixed (float* start = rented)
        {
            float* transposed = PackingKernels.LineAligned(start);
            float* block = transposed + (nint)k * nr, lines = block + positions * blockRows * nr;
            // Each position's range starts where the first panel's rows do.
            for (int p = 0; p < positions; p++)
                lineStarts[p] = CopyKernels.LinePlace(packed + p * perPosition + (nint)firstPanel * nr * inChannels);
            for (int panel = firstPanel, o0 = firstPanel * nr; panel < endPanel && o0 < outChannels; panel++, o0 += nr)
            {
                int cols = Math.Min(nr, outChannels - o0);
                if (cols < nr) PackingKernels.ClearPadding(transposed, k, nr, cols);
                // The same float product as the other folded forms (× 1 is exact), so the fold stays exact across refits.
                sum += PackingKernels.ScaledTranspose(w + (nint)o0 * k, cols, k, 1, 1f, factors == null ? null : factors + o0, transposed, nr);
                float* panelStart = packed + (nint)panel * nr * inChannels;
                for (int c0 = 0; c0 < inChannels; c0 += blockRows)
                {
                    int rows = Math.Min(blockRows, inChannels - c0);
                    for (int c = 0; c < rows; c++)
                        for (int l = 0; l < nr; l += lanes)
                            TW.KernelTransform<TOps, TV>(transposed + (nint)(c0 + c) * 9 * nr + l, nr, block + (nint)c * nr + l, blockRows * nr);
                    // The positions are 36 (25, 16) streams of writes, more than the hardware prefetchers follow: each copy
                    // asks for the lines the next block writes at that position (SqueezeNet's packing 9–11% faster). Streaming
                    // stores need no line read first.
                    int ahead = Sse.IsSupported && !stream ? Math.Min(blockRows, inChannels - c0 - rows) * nr : 0;
                    for (int p = 0; p < positions; p++)
                    {
                        float* target = panelStart + p * perPosition + (nint)c0 * nr, source = block + p * blockRows * nr;
                        for (int f = 0; f < ahead; f += 16) Sse.Prefetch0(target + rows * nr + f);
                        // A few hundred bytes a run: a call to memmove cost about as much as the copy.
                        if (stream) CopyKernels.StreamInOrder(source, target, rows * nr, lines + p * CopyKernels.LineFloats, ref lineStarts[p]);
                        else CopyKernels.Copy(source, target, rows * nr);
                    }
                }
            }
            if (stream)
            {
                long end = (long)Math.Max(firstPanel, Math.Min(endPanel, GemmKernels.PanelCount(outChannels, tactic))) * nr * inChannels;
                for (int p = 0; p < positions; p++)
                    CopyKernels.FinishInOrder(packed + p * perPosition + end, lines + p * CopyKernels.LineFloats, lineStarts[p]);
            }
        }
        ArrayPool<float>.Shared.Return(rented);
        if (stream) CopyKernels.EndStream();
        return sum;
    }
}
