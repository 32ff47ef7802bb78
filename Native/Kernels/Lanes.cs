using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>Shared lane helpers for the loaders and edge blocks.</summary>
internal static class Lanes
{
    public static Vector256<int> Index => Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);

    /// <summary>All-ones in lanes k where 0 ≤ start + k &lt; width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Inside(int start, int width)
    {
        var position = Avx2.Add(Vector256.Create(start), Index);
        var negative = Avx2.CompareGreaterThan(Vector256<int>.Zero, position);
        return Avx2.AndNot(negative, Avx2.CompareGreaterThan(Vector256.Create(width), position)).AsSingle();
    }

    /// <summary>All-ones in the first <paramref name="count"/> lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> First(int count) => Avx2.CompareGreaterThan(Vector256.Create(count), Index).AsSingle();
}
