using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Stride 2: the even elements of 16 floats. shufps picks them per 128-bit half, leaving outputs in the order
/// 0 1 4 5 2 3 6 7; one permute at the end (rather than one per tap) puts them back.
/// </summary>
internal readonly unsafe struct Stride2Loader : IWidthLoader
{
    public static int Stride => 2;

    public static int ReadSpan => 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* x) => Avx.Shuffle(Avx.LoadVector256(x), Avx.LoadVector256(x + 8), 0x88);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadMasked(float* row, int iw, int width, out Vector256<float> valid)
    {
        var low = Lanes.Inside(iw, width);
        var high = Lanes.Inside(iw + 8, width);
        valid = Avx.Shuffle(low, high, 0x88);
        return Avx.Shuffle(Avx.MaskLoad(row + iw, low), Avx.MaskLoad(row + iw + 8, high), 0x88);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Order(Vector256<float> accumulated) =>
        Avx2.Permute4x64(accumulated.AsDouble(), 0xD8).AsSingle();
}
