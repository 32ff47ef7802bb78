using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
    /// U[p][c, o] = (G·g·Gᵀ)[p] for g = w[o, c] (3×3) × factors[o] when factors is not null, computed in double and
    /// rounded once, then packed per position for the tactic. Deterministic, so a refit re-derives it bit for bit.
    /// Eight output channels at a time, one double lane each: they are neighbours in a panel row, so every position
    /// receives whole 8-float rows (channels past outC, in the last panel's padding, get zeros).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackWeights(float* w, int outChannels, int inChannels, float* factors, GemmTactic tactic, float* packed)
    {
        int nr = tactic.Nr;
        long perPosition = GemmKernels.PackedLength(inChannels, outChannels, tactic);
        if (outChannels % nr != 0)
            for (int p = 0; p < Positions; p++)
                new Span<float>(packed + p * perPosition + (nint)(outChannels / nr) * nr * inChannels, nr * inChannels).Clear(); // the last panel's padding
        var g = stackalloc Vector256<double>[9];
        var half = stackalloc Vector256<double>[InputTile * 3];
        var u = stackalloc Vector256<double>[2 * Positions]; // channels o..o+3, then o+4..o+7
        float** taps = stackalloc float*[8];
        float* scale = stackalloc float[8];
        float* zeros = stackalloc float[9];
        new Span<float>(zeros, 9).Clear();
        // Panel by panel, each row (input channel) whole before the next, so every position's rows fill in order.
        for (int panel = 0; panel * nr < outChannels; panel++)
            for (int c = 0; c < inChannels; c++)
                for (int o0 = panel * nr; o0 < Math.Min(outChannels, (panel + 1) * nr); o0 += 8)
                {
                    // Channels past outC read zeros: their lanes land in the last panel's padding.
                    for (int l = 0; l < 8; l++)
                    {
                        bool real = o0 + l < outChannels;
                        taps[l] = real ? w + ((nint)(o0 + l) * inChannels + c) * 9 : zeros;
                        scale[l] = real && factors != null ? factors[o0 + l] : 1f;
                    }
                    for (int h = 0; h < 2; h++)
                    {
                        float** lane = taps + 4 * h;
                        float* f = scale + 4 * h;
                        // The same float product as the other folded forms (× 1 is exact), so the fold stays exact across refits.
                        for (int i = 0; i < 9; i++)
                            g[i] = Vector256.Create(lane[0][i] * f[0], lane[1][i] * f[1], lane[2][i] * f[2], lane[3][i] * f[3]);
                        for (int j = 0; j < 3; j++) KernelPass(g[j], g[3 + j], g[6 + j], half + j, 3);
                        for (int a = 0; a < InputTile; a++) KernelPass(half[a * 3], half[a * 3 + 1], half[a * 3 + 2], u + h * Positions + a * InputTile, 1);
                    }
                    float* row = packed + (nint)panel * nr * inChannels + (nint)c * nr + o0 % nr;
                    for (int p = 0; p < Positions; p++)
                        Vector256.Narrow(u[p], u[Positions + p]).Store(row + p * perPosition);
                }
    }

    /// <summary>
    /// G applied to 3 vectors, written as 6 vectors at u + i·step: [g0/4, −(g0 + g1 + g2)/6, −(g0 − g1 + g2)/6,
    /// g0/24 + g1/12 + g2/6, g0/24 − g1/12 + g2/6, g2] (the kernel transform, in double).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelPass(Vector256<double> g0, Vector256<double> g1, Vector256<double> g2, Vector256<double>* u, int step)
    {
        var outer = g0 + g2;
        var middle = g0 * (1.0 / 24) + g2 * (1.0 / 6);
        u[0] = g0 * 0.25;
        u[step] = (outer + g1) * (-1.0 / 6);
        u[2 * step] = (outer - g1) * (-1.0 / 6);
        u[3 * step] = middle + g1 * (1.0 / 12);
        u[4 * step] = middle - g1 * (1.0 / 12);
        u[5 * step] = g2;
    }
}
