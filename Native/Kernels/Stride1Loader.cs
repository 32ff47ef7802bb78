using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

internal readonly unsafe struct Stride1Loader : IWidthLoader
{
    public static int Stride => 1;

    public static int ReadSpan => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* x) => Avx.LoadVector256(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadMasked(float* row, int iw, int width, out Vector256<float> valid)
    {
        valid = Lanes.Inside(iw, width);
        return Avx.MaskLoad(row + iw, valid); // masked-off lanes are neither read nor faulted
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Order(Vector256<float> accumulated) => accumulated;
}
