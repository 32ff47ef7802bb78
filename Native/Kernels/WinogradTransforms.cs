using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Winograd F(4×4, 3×3) with the interpolation points 0, ±1, ±2, ∞: a 6×6 input tile d gives a 4×4 output tile
/// Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A. The input and output transforms run on vectors of channels (one lane per channel);
/// each 2-D transform is two passes of the 1-D one, rows then columns.
/// </summary>
internal static unsafe class WinogradTransforms
{
    /// <summary>Output rows and columns per tile.</summary>
    public const int Tile = 4;

    /// <summary>Input rows and columns per tile (Tile + kernel − 1).</summary>
    public const int InputTile = 6;

    /// <summary>Transformed positions per tile: one GEMM each.</summary>
    public const int Positions = InputTile * InputTile;

    /// <summary>
    /// Bᵀ applied to 6 vectors at src + j·step, written as 6 vectors at dst + i·dstStep:
    /// [4d0 − 5d2 + d4, −4d1 − 4d2 + d3 + d4, 4d1 − 4d2 − d3 + d4, −2d1 − d2 + 2d3 + d4, 2d1 − d2 − 2d3 + d4, 4d1 − 5d3 + d5].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void InputPass<TOps, TV>(float* src, nint step, float* dst, nint dstStep)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV d0 = TOps.Load(src), d1 = TOps.Load(src + step), d2 = TOps.Load(src + 2 * step);
        TV d3 = TOps.Load(src + 3 * step), d4 = TOps.Load(src + 4 * step), d5 = TOps.Load(src + 5 * step);
        TV a = TOps.MultiplyAdd(d2, -4f, d4), b = TOps.MultiplyAdd(d1, -4f, d3);
        TV c = TOps.Subtract(d4, d2), e = TOps.Subtract(d3, d1);
        TOps.Store(TOps.MultiplyAdd(d0, 4f, TOps.MultiplyAdd(d2, -5f, d4)), dst);
        TOps.Store(TOps.Add(a, b), dst + dstStep);
        TOps.Store(TOps.Subtract(a, b), dst + 2 * dstStep);
        TOps.Store(TOps.MultiplyAdd(e, 2f, c), dst + 3 * dstStep);
        TOps.Store(TOps.MultiplyAdd(e, -2f, c), dst + 4 * dstStep);
        TOps.Store(TOps.MultiplyAdd(d1, 4f, TOps.MultiplyAdd(d3, -5f, d5)), dst + 5 * dstStep);
    }

    /// <summary>
    /// Aᵀ applied to 6 vectors at src + j·step, written as 4 vectors at dst + i·dstStep:
    /// [m0 + m1 + m2 + m3 + m4, m1 − m2 + 2(m3 − m4), m1 + m2 + 4(m3 + m4), m1 − m2 + 8(m3 − m4) + m5].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void OutputPass<TOps, TV>(float* src, nint step, float* dst, nint dstStep)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV m0 = TOps.Load(src), m1 = TOps.Load(src + step), m2 = TOps.Load(src + 2 * step);
        TV m3 = TOps.Load(src + 3 * step), m4 = TOps.Load(src + 4 * step), m5 = TOps.Load(src + 5 * step);
        TV s12 = TOps.Add(m1, m2), d12 = TOps.Subtract(m1, m2), s34 = TOps.Add(m3, m4), d34 = TOps.Subtract(m3, m4);
        TOps.Store(TOps.Add(TOps.Add(m0, s12), s34), dst);
        TOps.Store(TOps.MultiplyAdd(d34, 2f, d12), dst + dstStep);
        TOps.Store(TOps.MultiplyAdd(s34, 4f, s12), dst + 2 * dstStep);
        TOps.Store(TOps.Add(TOps.MultiplyAdd(d34, 8f, d12), m5), dst + 3 * dstStep);
    }

    /// <summary>
    /// Floats of the packed weight: for each of the 36 positions, the GEMM B operand [inC, outC] in the tactic's
    /// column panels (as <see cref="GemmKernels.PackB"/>).
    /// </summary>
    public static long PackedLength(int inChannels, int outChannels, GemmTactic tactic) =>
        (long)Positions * GemmKernels.PackedLength(inChannels, outChannels, tactic);

    /// <summary>
    /// U[p][c, o] = (G·g·Gᵀ)[p] for g = w[o, c] (3×3) × factors[o] when factors is not null, packed per position for
    /// the tactic. Deterministic (plain float multiplies and adds, no fused ones), so a refit re-derives it bit for bit.
    /// Panel by panel: the panel's weights are first transposed (with the factors) to [inC·9, Nr], so each tap of
    /// eight neighbouring output channels is one vector load, and the transform runs eight channels per vector.
    /// Channels past outC (the last panel's padding) are zero in the transposed copy, so their transforms are zeros.
    /// The 36 positions lie a whole [inC, outC] operand apart; storing to all of them in turn thrashes the caches
    /// (the strides alias), so a few input channels are transformed into a small block first and each position's
    /// rows then copied out as one contiguous run (streamed when <paramref name="stream"/>, each position's runs
    /// continuing one range over the panels: see <see cref="CopyKernels.StreamInOrder"/>). Only the panels
    /// [firstPanel, endPanel) are written. Returns the sum of the transposed copy's values, w[o, c]·factors[o] (see
    /// <see cref="PackingKernels"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float PackWeights(float* w, int outChannels, int inChannels, float* factors, GemmTactic tactic, float* packed, int firstPanel, int endPanel,
                                    bool stream = false) =>
        GemmMicroKernels.WideSupported && tactic.Nr % 16 == 0
            ? PackWeights<Float512, Vector512<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream)
            : PackWeights<Float256, Vector256<float>>(w, outChannels, inChannels, factors, tactic, packed, firstPanel, endPanel, stream);

    /// <summary><see cref="PackWeights(float*, int, int, float*, GemmTactic, float*, int, int, bool)"/> on vectors of one width (every width gives the same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float PackWeights<TOps, TV>(float* w, int outChannels, int inChannels, float* factors, GemmTactic tactic, float* packed, int firstPanel, int endPanel,
                                                bool stream)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        int nr = tactic.Nr, k = inChannels * 9, lanes = TOps.Count;
        // Input channels per block: 36 × block rows of Nr floats (18 KiB) stay in the L1 cache.
        int blockRows = Math.Max(1, 128 / nr);
        long perPosition = GemmKernels.PackedLength(inChannels, outChannels, tactic);
        // Then each position's line waiting to be completed (see CopyKernels.StreamInOrder).
        float[] rented = ArrayPool<float>.Shared.Rent(k * nr + Positions * blockRows * nr + Positions * CopyKernels.LineFloats + CopyKernels.LineFloats);
        int* lineStarts = stackalloc int[Positions];
        float sum = 0;
        fixed (float* start = rented)
        {
            float* transposed = PackingKernels.LineAligned(start);
            float* block = transposed + (nint)k * nr, lines = block + Positions * blockRows * nr;
            // Each position's range starts where the first panel's rows do.
            for (int p = 0; p < Positions; p++)
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
                        {
                            // Columns of g first ((G·g)[a, j] in h{j}{a}), then rows: position a·6 + i of the tile, all
                            // in registers.
                            float* g = transposed + (nint)(c0 + c) * 9 * nr + l;
                            KernelPass<TOps, TV>(TOps.Load(g), TOps.Load(g + 3 * nr), TOps.Load(g + 6 * nr), out var h00, out var h01, out var h02, out var h03, out var h04, out var h05);
                            KernelPass<TOps, TV>(TOps.Load(g + nr), TOps.Load(g + 4 * nr), TOps.Load(g + 7 * nr), out var h10, out var h11, out var h12, out var h13, out var h14, out var h15);
                            KernelPass<TOps, TV>(TOps.Load(g + 2 * nr), TOps.Load(g + 5 * nr), TOps.Load(g + 8 * nr), out var h20, out var h21, out var h22, out var h23, out var h24, out var h25);
                            float* u = block + (nint)c * nr + l;
                            nint step = blockRows * nr;
                            StoreRow<TOps, TV>(h00, h10, h20, u, step);
                            StoreRow<TOps, TV>(h01, h11, h21, u + InputTile * step, step);
                            StoreRow<TOps, TV>(h02, h12, h22, u + 2 * InputTile * step, step);
                            StoreRow<TOps, TV>(h03, h13, h23, u + 3 * InputTile * step, step);
                            StoreRow<TOps, TV>(h04, h14, h24, u + 4 * InputTile * step, step);
                            StoreRow<TOps, TV>(h05, h15, h25, u + 5 * InputTile * step, step);
                        }
                    // The 36 positions are 36 streams of writes, more than the hardware prefetchers follow: each copy asks
                    // for the lines the next block writes at that position (SqueezeNet's packing 9–11% faster). Streaming
                    // stores need no line read first.
                    int ahead = Sse.IsSupported && !stream ? Math.Min(blockRows, inChannels - c0 - rows) * nr : 0;
                    for (int p = 0; p < Positions; p++)
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
                for (int p = 0; p < Positions; p++)
                    CopyKernels.FinishInOrder(packed + p * perPosition + end, lines + p * CopyKernels.LineFloats, lineStarts[p]);
            }
        }
        ArrayPool<float>.Shared.Return(rented);
        if (stream) CopyKernels.EndStream();
        return sum;
    }

    /// <summary>
    /// G applied to 3 vectors: [g0/4, −(g0 + g1 + g2)/6, −(g0 − g1 + g2)/6, g0/24 + g1/12 + g2/6, g0/24 − g1/12 + g2/6,
    /// g2] (the kernel transform). Plain multiplies and adds, never fused.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelPass<TOps, TV>(TV g0, TV g1, TV g2, out TV u0, out TV u1, out TV u2, out TV u3, out TV u4, out TV u5)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV outer = TOps.Add(g0, g2);
        TV middle = TOps.Add(TOps.Multiply(g0, TOps.Create(1f / 24)), TOps.Multiply(g2, TOps.Create(1f / 6)));
        TV side = TOps.Multiply(g1, TOps.Create(1f / 12));
        u0 = TOps.Multiply(g0, TOps.Create(0.25f));
        u1 = TOps.Multiply(TOps.Add(outer, g1), TOps.Create(-1f / 6));
        u2 = TOps.Multiply(TOps.Subtract(outer, g1), TOps.Create(-1f / 6));
        u3 = TOps.Add(middle, side);
        u4 = TOps.Subtract(middle, side);
        u5 = g2;
    }

    /// <summary>G applied to one row (a) of G·g, stored as positions a·6 … a·6 + 5 at u + i·step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TOps, TV>(TV g0, TV g1, TV g2, float* u, nint step)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        KernelPass<TOps, TV>(g0, g1, g2, out var u0, out var u1, out var u2, out var u3, out var u4, out var u5);
        TOps.Store(u0, u);
        TOps.Store(u1, u + step);
        TOps.Store(u2, u + 2 * step);
        TOps.Store(u3, u + 3 * step);
        TOps.Store(u4, u + 4 * step);
        TOps.Store(u5, u + 5 * step);
    }
}
