using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Winograd F(2×2, 3×3) with the interpolation points 0, ±1, ∞: 4×4 input tiles, 16 GEMMs. Its transformed weight is
/// 16/9 the kernel's size (F(4×4)'s is 4×), so where few tiles meet many channels (ResNet's 512-channel layers at
/// 7×7) it reads far fewer weight bytes, and a refit writes fewer.
/// </summary>
internal readonly unsafe struct WinogradF2x2 : IWinogradTransform
{
    public static int Tile => 2;

    public static int InputTile => 4;

    /// <summary>[d0 − d2, d1 + d2, d2 − d1, d1 − d3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void InputPass<TOps, TV>(float* src, nint step, float* dst, nint dstStep)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV d0 = TOps.Load(src), d1 = TOps.Load(src + step), d2 = TOps.Load(src + 2 * step), d3 = TOps.Load(src + 3 * step);
        TOps.Store(TOps.Subtract(d0, d2), dst);
        TOps.Store(TOps.Add(d1, d2), dst + dstStep);
        TOps.Store(TOps.Subtract(d2, d1), dst + 2 * dstStep);
        TOps.Store(TOps.Subtract(d1, d3), dst + 3 * dstStep);
    }

    /// <summary>[m0 + m1 + m2, m1 − m2 − m3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void OutputPass<TOps, TV>(float* src, nint step, float* dst, nint dstStep)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV m0 = TOps.Load(src), m1 = TOps.Load(src + step), m2 = TOps.Load(src + 2 * step), m3 = TOps.Load(src + 3 * step);
        TOps.Store(TOps.Add(TOps.Add(m0, m1), m2), dst);
        TOps.Store(TOps.Subtract(TOps.Subtract(m1, m2), m3), dst + dstStep);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void KernelTransform<TOps, TV>(float* g, nint tapStep, float* u, nint step)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        // Columns of g first ((G·g)[a, j] in h{j}{a}), then rows: position a·4 + i of the tile, all in registers.
        Pass<TOps, TV>(TOps.Load(g), TOps.Load(g + 3 * tapStep), TOps.Load(g + 6 * tapStep), out var h00, out var h01, out var h02, out var h03);
        Pass<TOps, TV>(TOps.Load(g + tapStep), TOps.Load(g + 4 * tapStep), TOps.Load(g + 7 * tapStep), out var h10, out var h11, out var h12, out var h13);
        Pass<TOps, TV>(TOps.Load(g + 2 * tapStep), TOps.Load(g + 5 * tapStep), TOps.Load(g + 8 * tapStep), out var h20, out var h21, out var h22, out var h23);
        StoreRow<TOps, TV>(h00, h10, h20, u, step);
        StoreRow<TOps, TV>(h01, h11, h21, u + 4 * step, step);
        StoreRow<TOps, TV>(h02, h12, h22, u + 8 * step, step);
        StoreRow<TOps, TV>(h03, h13, h23, u + 12 * step, step);
    }

    /// <summary>G applied to 3 vectors: [g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pass<TOps, TV>(TV g0, TV g1, TV g2, out TV u0, out TV u1, out TV u2, out TV u3)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV outer = TOps.Add(g0, g2);
        u0 = g0;
        u1 = TOps.Multiply(TOps.Add(outer, g1), TOps.Create(0.5f));
        u2 = TOps.Multiply(TOps.Subtract(outer, g1), TOps.Create(0.5f));
        u3 = g2;
    }

    /// <summary>G applied to one row (a) of G·g, stored as positions a·4 … a·4 + 3 at u + i·step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TOps, TV>(TV g0, TV g1, TV g2, float* u, nint step)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        Pass<TOps, TV>(g0, g1, g2, out var u0, out var u1, out var u2, out var u3);
        TOps.Store(u0, u);
        TOps.Store(u1, u + step);
        TOps.Store(u2, u + 2 * step);
        TOps.Store(u3, u + 3 * step);
    }
}
