using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Winograd F(3×3, 3×3) with the interpolation points 0, ±1, 2, ∞: 5×5 input tiles, 25 GEMMs. Between the other two:
/// 1.23× the multiplies of F(4×4) per output tile pixel, but a transformed weight 25/9 of the kernel's size where
/// F(4×4)'s is 4×, and its tiles overhang a 13×13 image less (15×15 against 16×16) and fit 27×27 exactly.
/// </summary>
internal readonly unsafe struct WinogradF3x3 : IWinogradTransform
{
    public static int Tile => 3;

    public static int InputTile => 5;

    /// <summary>[2d0 − d1 − 2d2 + d3, −2d1 − d2 + d3, 2d1 − 3d2 + d3, d3 − d1, 2d1 − d2 − 2d3 + d4].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void InputPass<TOps, TV>(float* src, nint step, float* dst, nint dstStep)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV d0 = TOps.Load(src), d1 = TOps.Load(src + step), d2 = TOps.Load(src + 2 * step);
        TV d3 = TOps.Load(src + 3 * step), d4 = TOps.Load(src + 4 * step);
        TV odd = TOps.Subtract(d3, d1);
        TOps.Store(TOps.MultiplyAdd(TOps.Subtract(d0, d2), 2f, odd), dst);
        TOps.Store(TOps.MultiplyAdd(d1, -2f, TOps.Subtract(d3, d2)), dst + dstStep);
        TOps.Store(TOps.MultiplyAdd(d1, 2f, TOps.MultiplyAdd(d2, -3f, d3)), dst + 2 * dstStep);
        TOps.Store(odd, dst + 3 * dstStep);
        TOps.Store(TOps.MultiplyAdd(TOps.Subtract(d1, d3), 2f, TOps.Subtract(d4, d2)), dst + 4 * dstStep);
    }

    /// <summary>[m0 + m1 + m2 + m3, m1 − m2 + 2m3, m1 + m2 + 4m3 + m4].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void OutputPass<TOps, TV>(float* src, nint step, float* dst, nint dstStep)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV m0 = TOps.Load(src), m1 = TOps.Load(src + step), m2 = TOps.Load(src + 2 * step);
        TV m3 = TOps.Load(src + 3 * step), m4 = TOps.Load(src + 4 * step);
        TV s12 = TOps.Add(m1, m2);
        TOps.Store(TOps.Add(TOps.Add(m0, s12), m3), dst);
        TOps.Store(TOps.MultiplyAdd(m3, 2f, TOps.Subtract(m1, m2)), dst + dstStep);
        TOps.Store(TOps.Add(TOps.MultiplyAdd(m3, 4f, s12), m4), dst + 2 * dstStep);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void KernelTransform<TOps, TV>(float* g, nint tapStep, float* u, nint step)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        // Columns of g first ((G·g)[a, j] in h{j}{a}), then rows: position a·5 + i of the tile, all in registers.
        Pass<TOps, TV>(TOps.Load(g), TOps.Load(g + 3 * tapStep), TOps.Load(g + 6 * tapStep), out var h00, out var h01, out var h02, out var h03, out var h04);
        Pass<TOps, TV>(TOps.Load(g + tapStep), TOps.Load(g + 4 * tapStep), TOps.Load(g + 7 * tapStep), out var h10, out var h11, out var h12, out var h13, out var h14);
        Pass<TOps, TV>(TOps.Load(g + 2 * tapStep), TOps.Load(g + 5 * tapStep), TOps.Load(g + 8 * tapStep), out var h20, out var h21, out var h22, out var h23, out var h24);
        StoreRow<TOps, TV>(h00, h10, h20, u, step);
        StoreRow<TOps, TV>(h01, h11, h21, u + 5 * step, step);
        StoreRow<TOps, TV>(h02, h12, h22, u + 10 * step, step);
        StoreRow<TOps, TV>(h03, h13, h23, u + 15 * step, step);
        StoreRow<TOps, TV>(h04, h14, h24, u + 20 * step, step);
    }

    /// <summary>G applied to 3 vectors: [g0/2, −(g0 + g1 + g2)/2, −(g0 − g1 + g2)/6, (g0 + 2g1 + 4g2)/6, g2].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pass<TOps, TV>(TV g0, TV g1, TV g2, out TV u0, out TV u1, out TV u2, out TV u3, out TV u4)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV outer = TOps.Add(g0, g2);
        // × 2 and × 4 are exact, so plain multiplies and adds give the same bits on every width.
        TV far = TOps.Add(TOps.Add(g0, TOps.Multiply(g1, TOps.Create(2f))), TOps.Multiply(g2, TOps.Create(4f)));
        u0 = TOps.Multiply(g0, TOps.Create(0.5f));
        u1 = TOps.Multiply(TOps.Add(outer, g1), TOps.Create(-0.5f));
        u2 = TOps.Multiply(TOps.Subtract(outer, g1), TOps.Create(-1f / 6));
        u3 = TOps.Multiply(far, TOps.Create(1f / 6));
        u4 = g2;
    }

    /// <summary>G applied to one row (a) of G·g, stored as positions a·5 … a·5 + 4 at u + i·step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TOps, TV>(TV g0, TV g1, TV g2, float* u, nint step)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        Pass<TOps, TV>(g0, g1, g2, out var u0, out var u1, out var u2, out var u3, out var u4);
        TOps.Store(u0, u);
        TOps.Store(u1, u + step);
        TOps.Store(u2, u + 2 * step);
        TOps.Store(u3, u + 3 * step);
        TOps.Store(u4, u + 4 * step);
    }
}
