using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The few float-vector operations the Winograd transforms, the channels-last depthwise and pool kernels and the
/// exponential family need, so one generic loop compiles to a 256-bit and a 512-bit one (the JIT specialises each struct
/// instantiation and inlines these).
/// </summary>
internal unsafe interface IFloatVector<TV> where TV : struct
{
    static abstract int Count { get; }

    static abstract TV Load(float* p);

    static abstract void Store(TV v, float* p);

    static abstract TV Add(TV a, TV b);

    static abstract TV Subtract(TV a, TV b);

    static abstract TV Multiply(TV a, TV b);

    static abstract TV Divide(TV a, TV b);

    /// <summary>Rounded to the nearest integer, ties to even.</summary>
    static abstract TV RoundToNearest(TV a);

    /// <summary>p·2ⁿ for integral n in [-152, 129], rounded once: overflow gives infinity, underflow denormals or zero.</summary>
    static abstract TV ScaleByPowerOfTwo(TV p, TV n);

    /// <summary><paramref name="result"/>, with the lanes where <paramref name="x"/> is NaN replaced by x.</summary>
    static abstract TV KeepNaN(TV x, TV result);

    static abstract TV Create(float value);

    /// <summary>a·s + c, fused where the CPU has FMA.</summary>
    static abstract TV MultiplyAdd(TV a, float s, TV c);

    /// <summary>a·b + c, fused where the CPU has FMA.</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);

    /// <summary>The instruction's max: b when either is NaN.</summary>
    static abstract TV Max(TV a, TV b);

    /// <summary>The instruction's min: b when either is NaN.</summary>
    static abstract TV Min(TV a, TV b);
}

/// <summary>8 lanes.</summary>
internal readonly unsafe struct Float256 : IFloatVector<Vector256<float>>
{
    public static int Count => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* p) => Vector256.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, float* p) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> RoundToNearest(Vector256<float> a) => Avx.RoundToNearestInteger(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaleByPowerOfTwo(Vector256<float> p, Vector256<float> n)
    {
        // 2ⁿ in two halves, each a normal float, so results down to denormals and up to infinity come out right.
        var ni = Avx.ConvertToVector256Int32(n);
        var half = Avx2.ShiftRightArithmetic(ni, 1);
        var scaleA = Avx2.ShiftLeftLogical(Avx2.Add(half, Vector256.Create(127)), 23).AsSingle();
        var scaleB = Avx2.ShiftLeftLogical(Avx2.Add(Avx2.Subtract(ni, half), Vector256.Create(127)), 23).AsSingle();
        return p * scaleA * scaleB;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> KeepNaN(Vector256<float> x, Vector256<float> result) => VectorMath.KeepNaN(x, result);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Create(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, float s, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, Vector256.Create(s), c) : a * s + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Avx.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Avx.Min(a, b);
}

/// <summary>16 lanes; used only where <see cref="GemmMicroKernels.WideSupported"/>.</summary>
internal readonly unsafe struct Float512 : IFloatVector<Vector512<float>>
{
    public static int Count => 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* p) => Vector512.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> v, float* p) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

    // Control 0x08: round to the nearest integer (ties to even), no precision exception.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> RoundToNearest(Vector512<float> a) => Avx512F.RoundScale(a, 0x08);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleByPowerOfTwo(Vector512<float> p, Vector512<float> n) => Avx512F.Scale(p, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> KeepNaN(Vector512<float> x, Vector512<float> result) =>
        Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Create(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, float s, Vector512<float> c) =>
        Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, Vector512.Create(s), c) : a * s + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Avx512F.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Avx512F.Min(a, b);
}
