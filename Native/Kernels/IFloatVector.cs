using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The few float-vector operations the Winograd transforms, the channels-last depthwise and pool kernels and the
/// activations' elementary functions (the exponential and erf families, tanh) need, so one generic loop compiles to a
/// 256-bit and a 512-bit one (the JIT specialises each struct instantiation and inlines these).
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

    /// <summary>Lane j: the sum of cj's lanes (a shuffle tree that halves the vectors' count at each step).</summary>
    static abstract Vector256<float> SumEach(TV c0, TV c1, TV c2, TV c3, TV c4, TV c5, TV c6, TV c7);

    /// <summary>The bits of a and b and-ed (masks, or a sign taken by and-ing with −0).</summary>
    static abstract TV And(TV a, TV b);

    static abstract TV Xor(TV a, TV b);

    /// <summary>|a|: the sign bit cleared.</summary>
    static abstract TV Abs(TV a);

    /// <summary>All bits set in the lanes where a &lt; b (false where either is NaN), clear elsewhere.</summary>
    static abstract TV LessThan(TV a, TV b);

    static abstract TV LessThanOrEqual(TV a, TV b);

    /// <summary>The lanes of <paramref name="ifTrue"/> where <paramref name="mask"/> (a comparison's) is set, of ifFalse elsewhere.</summary>
    static abstract TV Select(TV mask, TV ifTrue, TV ifFalse);

    /// <summary>Whether every lane of a comparison's mask is set.</summary>
    static abstract bool All(TV mask);
}

/// <summary>
/// 8 lanes. Loads, stores, arithmetic, Max and Min run on any CPU; RoundToNearest, ScaleByPowerOfTwo, KeepNaN and SumEach
/// need AVX2 (their callers check <see cref="VectorMath.IsSupported"/>).
/// </summary>
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

    // The Winograd jobs and weight packing run these on any CPU (a CPU without AVX emulates 256-bit vectors): the
    // instruction's operand order, written out where it is missing.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) =>
        Avx.IsSupported ? Avx.Max(a, b) : Vector256.ConditionalSelect(Vector256.GreaterThan(a, b), a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) =>
        Avx.IsSupported ? Avx.Min(a, b) : Vector256.ConditionalSelect(Vector256.LessThan(a, b), a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SumEach(Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3,
        Vector256<float> c4, Vector256<float> c5, Vector256<float> c6, Vector256<float> c7)
    {
        // Halves of pairs: [cj's 4 partials | cj+1's]; then in-lane pairs: lane b of each half [c(b) 2, c(b+2) 2]; then
        // [c0 c2 c4 c6 | c1 c3 c5 c7], put in order by one permute.
        var s01 = Avx.Permute2x128(c0, c1, 0x20) + Avx.Permute2x128(c0, c1, 0x31);
        var s23 = Avx.Permute2x128(c2, c3, 0x20) + Avx.Permute2x128(c2, c3, 0x31);
        var s45 = Avx.Permute2x128(c4, c5, 0x20) + Avx.Permute2x128(c4, c5, 0x31);
        var s67 = Avx.Permute2x128(c6, c7, 0x20) + Avx.Permute2x128(c6, c7, 0x31);
        var u0 = Avx.Shuffle(s01, s23, 0x44) + Avx.Shuffle(s01, s23, 0xEE);
        var u1 = Avx.Shuffle(s45, s67, 0x44) + Avx.Shuffle(s45, s67, 0xEE);
        var r = Avx.Shuffle(u0, u1, 0x88) + Avx.Shuffle(u0, u1, 0xDD);
        return Avx2.PermuteVar8x32(r, Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Xor(Vector256<float> a, Vector256<float> b) => a ^ b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Abs(Vector256<float> a) => Vector256.AndNot(a, Vector256.Create(-0f));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LessThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.LessThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> ifTrue, Vector256<float> ifFalse) => Vector256.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool All(Vector256<float> mask) => Vector256.ExtractMostSignificantBits(mask) == 0xFFu;
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SumEach(Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3,
        Vector512<float> c4, Vector512<float> c5, Vector512<float> c6, Vector512<float> c7)
    {
        // Halves of pairs: [cj 8 | cj+1 8]; quarters of those: 128-bit block i holds c(i)'s 4 partials (c(4+i)'s in t1);
        // in-lane pairs: block i [c(i) 2, c(4+i) 2]; the last pairs added by two permutes that also put the sums in order.
        var s01 = Avx512F.Shuffle4x128(c0, c1, 0x44) + Avx512F.Shuffle4x128(c0, c1, 0xEE);
        var s23 = Avx512F.Shuffle4x128(c2, c3, 0x44) + Avx512F.Shuffle4x128(c2, c3, 0xEE);
        var s45 = Avx512F.Shuffle4x128(c4, c5, 0x44) + Avx512F.Shuffle4x128(c4, c5, 0xEE);
        var s67 = Avx512F.Shuffle4x128(c6, c7, 0x44) + Avx512F.Shuffle4x128(c6, c7, 0xEE);
        var t0 = Avx512F.Shuffle4x128(s01, s23, 0x88) + Avx512F.Shuffle4x128(s01, s23, 0xDD);
        var t1 = Avx512F.Shuffle4x128(s45, s67, 0x88) + Avx512F.Shuffle4x128(s45, s67, 0xDD);
        var u = Avx512F.Shuffle(t0, t1, 0x44) + Avx512F.Shuffle(t0, t1, 0xEE);
        var first = Avx512F.PermuteVar16x32(u, Vector512.Create(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0));
        var second = Avx512F.PermuteVar16x32(u, Vector512.Create(1, 5, 9, 13, 3, 7, 11, 15, 0, 0, 0, 0, 0, 0, 0, 0));
        return (first + second).GetLower();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Xor(Vector512<float> a, Vector512<float> b) => a ^ b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Abs(Vector512<float> a) => Vector512.AndNot(a, Vector512.Create(-0f));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LessThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.LessThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Select(Vector512<float> mask, Vector512<float> ifTrue, Vector512<float> ifFalse) => Vector512.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool All(Vector512<float> mask) => Vector512.ExtractMostSignificantBits(mask) == 0xFFFFul;
}

/// <summary>
/// 4 lanes, in portable vector operations only: for the Winograd transforms on a CPU whose 256-bit vectors are not
/// hardware-accelerated (ARM64's NEON, x64 without AVX), where <see cref="Float256"/> would run element by element,
/// and the one-row GEMM without AVX2. Products and sums are rounded apart (no fused multiply-add), as
/// <see cref="Float256"/> computes them without FMA.
/// </summary>
internal readonly unsafe struct Float128 : IFloatVector<Vector128<float>>
{
    public static int Count => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(float* p) => Vector128.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> v, float* p) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    public static Vector128<float> RoundToNearest(Vector128<float> a) =>
        Vector128.Create(MathF.Round(a[0]), MathF.Round(a[1]), MathF.Round(a[2]), MathF.Round(a[3]));

    public static Vector128<float> ScaleByPowerOfTwo(Vector128<float> p, Vector128<float> n)
    {
        // As Float256's: 2ⁿ in two halves, each a normal float.
        var ni = Vector128.ConvertToInt32(n);
        var half = Vector128.ShiftRightArithmetic(ni, 1);
        var scaleA = Vector128.ShiftLeft(half + Vector128.Create(127), 23).AsSingle();
        var scaleB = Vector128.ShiftLeft(ni - half + Vector128.Create(127), 23).AsSingle();
        return p * scaleA * scaleB;
    }

    public static Vector128<float> KeepNaN(Vector128<float> x, Vector128<float> result) =>
        Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Create(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, float s, Vector128<float> c) => a * s + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(Vector128.GreaterThan(a, b), a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(Vector128.LessThan(a, b), a, b);

    public static Vector256<float> SumEach(Vector128<float> c0, Vector128<float> c1, Vector128<float> c2, Vector128<float> c3,
        Vector128<float> c4, Vector128<float> c5, Vector128<float> c6, Vector128<float> c7) =>
        Vector256.Create(Vector128.Sum(c0), Vector128.Sum(c1), Vector128.Sum(c2), Vector128.Sum(c3),
                         Vector128.Sum(c4), Vector128.Sum(c5), Vector128.Sum(c6), Vector128.Sum(c7));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> And(Vector128<float> a, Vector128<float> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Xor(Vector128<float> a, Vector128<float> b) => a ^ b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Abs(Vector128<float> a) => Vector128.AndNot(a, Vector128.Create(-0f));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LessThan(Vector128<float> a, Vector128<float> b) => Vector128.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LessThanOrEqual(Vector128<float> a, Vector128<float> b) => Vector128.LessThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Select(Vector128<float> mask, Vector128<float> ifTrue, Vector128<float> ifFalse) => Vector128.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool All(Vector128<float> mask) => Vector128.ExtractMostSignificantBits(mask) == 0xFu;
}
