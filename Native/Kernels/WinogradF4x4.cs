using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Winograd F(4×4, 3×3) with the interpolation points 0, ±1, ±2, ∞: 6×6 input tiles, 36 GEMMs, 2.25× fewer
/// multiplies than F(2×2, 3×3) but a transformed weight 4× the kernel's size.
/// </summary>
internal readonly unsafe struct WinogradF4x4 : IWinogradTransform
{
    public static int Tile => 4;

    public static int InputTile => 6;

    /// <summary>
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

    /// <summary>[m0 + m1 + m2 + m3 + m4, m1 − m2 + 2(m3 − m4), m1 + m2 + 4(m3 + m4), m1 − m2 + 8(m3 − m4) + m5].</summary>
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void KernelTransform<TOps, TV>(float* g, nint tapStep, float* u, nint step)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        // Columns of g first ((G·g)[a, j] in h{j}{a}), then rows: position a·6 + i of the tile, all in registers.
        Pass<TOps, TV>(TOps.Load(g), TOps.Load(g + 3 * tapStep), TOps.Load(g + 6 * tapStep), out var h00, out var h01, out var h02, out var h03, out var h04, out var h05);
        Pass<TOps, TV>(TOps.Load(g + tapStep), TOps.Load(g + 4 * tapStep), TOps.Load(g + 7 * tapStep), out var h10, out var h11, out var h12, out var h13, out var h14, out var h15);
        Pass<TOps, TV>(TOps.Load(g + 2 * tapStep), TOps.Load(g + 5 * tapStep), TOps.Load(g + 8 * tapStep), out var h20, out var h21, out var h22, out var h23, out var h24, out var h25);
        StoreRow<TOps, TV>(h00, h10, h20, u, step);
        StoreRow<TOps, TV>(h01, h11, h21, u + 6 * step, step);
        StoreRow<TOps, TV>(h02, h12, h22, u + 12 * step, step);
        StoreRow<TOps, TV>(h03, h13, h23, u + 18 * step, step);
        StoreRow<TOps, TV>(h04, h14, h24, u + 24 * step, step);
        StoreRow<TOps, TV>(h05, h15, h25, u + 30 * step, step);
    }

    /// <summary>
    /// G applied to 3 vectors: [g0/4, −(g0 + g1 + g2)/6, −(g0 − g1 + g2)/6, g0/24 + g1/12 + g2/6, g0/24 − g1/12 + g2/6, g2].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pass<TOps, TV>(TV g0, TV g1, TV g2, out TV u0, out TV u1, out TV u2, out TV u3, out TV u4, out TV u5)
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
        Pass<TOps, TV>(g0, g1, g2, out var u0, out var u1, out var u2, out var u3, out var u4, out var u5);
        TOps.Store(u0, u);
        TOps.Store(u1, u + step);
        TOps.Store(u2, u + 2 * step);
        TOps.Store(u3, u + 3 * step);
        TOps.Store(u4, u + 4 * step);
        TOps.Store(u5, u + 5 * step);
    }
}
