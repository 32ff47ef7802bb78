using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Register-tiled GEMM micro-kernels: C[rows, nr] (+)= A[rows, kc]·B[kc, nr], then bias and activation while the
/// tile is hot. A element (i, p) is at a[i·rs + p·cs], so both A layouts need no packing;
/// B rows are nr contiguous floats, ldb apart. C is always a full nr wide (edges go through a scratch tile).
/// The bias and activation epilogue runs on the stored tile while it is still in L1.
/// Wide tactics use 512-bit registers where the CPU has AVX-512 (12×32 tiles), the portable path elsewhere.
/// Kernels are compiled fully optimised on first use: a layer must not run tier-0 code while tiering catches up.
/// </summary>
internal static unsafe class GemmMicroKernels
{
    public const int MaxTileFloats = 12 * 32;

    /// <summary>
    /// Whether the 512-bit kernels (wide tactics) run here: the CPU has AVX-512 and the runtime prefers 512-bit vectors
    /// (DOTNET_PreferredVectorBitWidth=256 or DOTNET_EnableAVX512=0 turn them off), as HardwareInfo reports it.
    /// </summary>
    public static bool WideSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && VectorMath.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(bool wide, int nr, int rows, float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation, bool stream = false)
    {
        if (wide && nr is 16 or 32 && WideSupported)
        {
            bool clamp = activation.Kind is ActivationKind.Relu or ActivationKind.Clip;
            float low = activation.Kind == ActivationKind.Relu ? 0f : activation.Alpha;
            float high = activation.Kind == ActivationKind.Relu ? float.PositiveInfinity : activation.Beta;
            if (nr == 32) Wide<R2>(rows, a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream);
            else Wide<R1>(rows, a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream);
            if (!clamp && activation.Kind != ActivationKind.Identity)
                Finish(c, ldc, rows, nr, null, activation);
            return;
        }
        if (!VectorMath.IsSupported || wide)
        {
            Scalar(nr, rows, a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation);
            return;
        }
        switch (nr * 8 + rows)
        {
            case 16 * 8 + 1: Kernel16<R1>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 16 * 8 + 2: Kernel16<R2>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 16 * 8 + 3: Kernel16<R3>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 16 * 8 + 4: Kernel16<R4>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 16 * 8 + 5: Kernel16<R5>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 16 * 8 + 6: Kernel16<R6>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 24 * 8 + 1: Kernel24<R1>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 24 * 8 + 2: Kernel24<R2>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 24 * 8 + 3: Kernel24<R3>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 24 * 8 + 4: Kernel24<R4>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 32 * 8 + 1: Kernel32<R1>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            case 32 * 8 + 2: Kernel32<R2>(a, rs, cs, b, ldb, kc, c, ldc, accumulate); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows), $"No {rows}x{nr} micro-kernel.");
        }
        if (bias != null || activation.Kind != ActivationKind.Identity)
            Finish(c, ldc, rows, nr, bias, activation);
    }

    /// <summary>The 512-bit kernel for <paramref name="rows"/> rows of <typeparamref name="TVectors"/> 16-float vectors.</summary>
    private static void Wide<TVectors>(int rows, float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, bool clamp, float low, float high, bool stream) where TVectors : struct, ICount
    {
        switch (rows)
        {
            case 1: Kernel512<R1, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 2: Kernel512<R2, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 3: Kernel512<R3, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 4: Kernel512<R4, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 5: Kernel512<R5, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 6: Kernel512<R6, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 7: Kernel512<R7, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 8: Kernel512<R8, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 9: Kernel512<R9, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 10: Kernel512<R10, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 11: Kernel512<R11, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            case 12: Kernel512<R12, TVectors>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, clamp, low, high, stream); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows), $"No {rows}x{16 * TVectors.Value} micro-kernel.");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel16<TRows>(float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate) where TRows : struct, ICount
    {
        int rows = TRows.Value; // a JIT-time constant: unused rows vanish from each instantiation
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint r1 = rs, r2 = rs * 2, r3 = rs * 3, r4 = rs * 4, r5 = rs * 5;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var av = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            if (rows > 1)
            {
                av = Vector256.Create(a[r1]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
            }
            if (rows > 2)
            {
                av = Vector256.Create(a[r2]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
            }
            if (rows > 3)
            {
                av = Vector256.Create(a[r3]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
            }
            if (rows > 4)
            {
                av = Vector256.Create(a[r4]);
                c40 = Fma.MultiplyAdd(av, b0, c40);
                c41 = Fma.MultiplyAdd(av, b1, c41);
            }
            if (rows > 5)
            {
                av = Vector256.Create(a[r5]);
                c50 = Fma.MultiplyAdd(av, b0, c50);
                c51 = Fma.MultiplyAdd(av, b1, c51);
            }
            a += cs;
            b += ldb;
        }

        Put(c, c00, accumulate);
        Put(c + 8, c01, accumulate);
        if (rows > 1)
        {
            Put(c + ldc, c10, accumulate);
            Put(c + ldc + 8, c11, accumulate);
        }
        if (rows > 2)
        {
            Put(c + 2 * ldc, c20, accumulate);
            Put(c + 2 * ldc + 8, c21, accumulate);
        }
        if (rows > 3)
        {
            Put(c + 3 * ldc, c30, accumulate);
            Put(c + 3 * ldc + 8, c31, accumulate);
        }
        if (rows > 4)
        {
            Put(c + 4 * ldc, c40, accumulate);
            Put(c + 4 * ldc + 8, c41, accumulate);
        }
        if (rows > 5)
        {
            Put(c + 5 * ldc, c50, accumulate);
            Put(c + 5 * ldc + 8, c51, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel24<TRows>(float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate) where TRows : struct, ICount
    {
        int rows = TRows.Value;
        Vector256<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        nint r1 = rs, r2 = rs * 2, r3 = rs * 3;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var b2 = Avx.LoadVector256(b + 16);
            var av = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            c02 = Fma.MultiplyAdd(av, b2, c02);
            if (rows > 1)
            {
                av = Vector256.Create(a[r1]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                c12 = Fma.MultiplyAdd(av, b2, c12);
            }
            if (rows > 2)
            {
                av = Vector256.Create(a[r2]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
                c22 = Fma.MultiplyAdd(av, b2, c22);
            }
            if (rows > 3)
            {
                av = Vector256.Create(a[r3]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
                c32 = Fma.MultiplyAdd(av, b2, c32);
            }
            a += cs;
            b += ldb;
        }

        for (int r = 0; r < rows; r++)
        {
            // Row r's accumulators, picked by constant-foldable branches.
            var (v0, v1, v2) = r switch
            {
                0 => (c00, c01, c02),
                1 => (c10, c11, c12),
                2 => (c20, c21, c22),
                _ => (c30, c31, c32),
            };
            float* row = c + r * ldc;
            Put(row, v0, accumulate);
            Put(row + 8, v1, accumulate);
            Put(row + 16, v2, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel32<TRows>(float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate) where TRows : struct, ICount
    {
        int rows = TRows.Value;
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var b2 = Avx.LoadVector256(b + 16);
            var b3 = Avx.LoadVector256(b + 24);
            var av = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            c02 = Fma.MultiplyAdd(av, b2, c02);
            c03 = Fma.MultiplyAdd(av, b3, c03);
            if (rows > 1)
            {
                av = Vector256.Create(a[rs]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                c12 = Fma.MultiplyAdd(av, b2, c12);
                c13 = Fma.MultiplyAdd(av, b3, c13);
            }
            a += cs;
            b += ldb;
        }

        Put(c, c00, accumulate);
        Put(c + 8, c01, accumulate);
        Put(c + 16, c02, accumulate);
        Put(c + 24, c03, accumulate);
        if (rows > 1)
        {
            Put(c + ldc, c10, accumulate);
            Put(c + ldc + 8, c11, accumulate);
            Put(c + ldc + 16, c12, accumulate);
            Put(c + ldc + 24, c13, accumulate);
        }
    }

    /// <summary>
    /// Up to 12 rows × 32 (or 16) columns in 512-bit registers (24 accumulators of the 32 zmm registers). Bias and a
    /// Relu/Clip clamp are applied in registers before the single store: small-K convolutions are bound by their stores.
    /// One vector per row (16 columns) serves layers of 16 or 48 outputs, where 32-wide panels would compute padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512<TRows, TVectors>(float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, bool clamp, float low, float high, bool stream) where TRows : struct, ICount where TVectors : struct, ICount
    {
        int rows = TRows.Value;
        bool two = TVectors.Value == 2; // a JIT-time constant: the second column vector vanishes from 16-wide kernels
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        Vector512<float> c80 = default, c81 = default, c90 = default, c91 = default, c100 = default, c101 = default, c110 = default, c111 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = two ? Vector512.Load(b + 16) : default;
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            if (two) c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            if (rows > 1)
            {
                var a1 = Vector512.Create(a[rs]);
                c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
                if (two) c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            }
            if (rows > 2)
            {
                var a2 = Vector512.Create(a[2 * rs]);
                c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
                if (two) c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            }
            if (rows > 3)
            {
                var a3 = Vector512.Create(a[3 * rs]);
                c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
                if (two) c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            }
            if (rows > 4)
            {
                var a4 = Vector512.Create(a[4 * rs]);
                c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
                if (two) c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            }
            if (rows > 5)
            {
                var a5 = Vector512.Create(a[5 * rs]);
                c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
                if (two) c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            }
            if (rows > 6)
            {
                var a6 = Vector512.Create(a[6 * rs]);
                c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60);
                if (two) c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            }
            if (rows > 7)
            {
                var a7 = Vector512.Create(a[7 * rs]);
                c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70);
                if (two) c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            }
            if (rows > 8)
            {
                var a8 = Vector512.Create(a[8 * rs]);
                c80 = Avx512F.FusedMultiplyAdd(a8, b0, c80);
                if (two) c81 = Avx512F.FusedMultiplyAdd(a8, b1, c81);
            }
            if (rows > 9)
            {
                var a9 = Vector512.Create(a[9 * rs]);
                c90 = Avx512F.FusedMultiplyAdd(a9, b0, c90);
                if (two) c91 = Avx512F.FusedMultiplyAdd(a9, b1, c91);
            }
            if (rows > 10)
            {
                var a10 = Vector512.Create(a[10 * rs]);
                c100 = Avx512F.FusedMultiplyAdd(a10, b0, c100);
                if (two) c101 = Avx512F.FusedMultiplyAdd(a10, b1, c101);
            }
            if (rows > 11)
            {
                var a11 = Vector512.Create(a[11 * rs]);
                c110 = Avx512F.FusedMultiplyAdd(a11, b0, c110);
                if (two) c111 = Avx512F.FusedMultiplyAdd(a11, b1, c111);
            }
            a += cs;
            b += ldb;
        }

        var lo = Vector512.Create(low);
        var hi = Vector512.Create(high);
        float* bias16 = bias == null ? null : bias + 16;
        Put512(c, c00, accumulate, bias, clamp, lo, hi, stream);
        if (two) Put512(c + 16, c01, accumulate, bias16, clamp, lo, hi, stream);
        if (rows > 1)
        {
            Put512(c + ldc, c10, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + ldc + 16, c11, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 2)
        {
            Put512(c + 2 * ldc, c20, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 2 * ldc + 16, c21, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 3)
        {
            Put512(c + 3 * ldc, c30, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 3 * ldc + 16, c31, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 4)
        {
            Put512(c + 4 * ldc, c40, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 4 * ldc + 16, c41, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 5)
        {
            Put512(c + 5 * ldc, c50, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 5 * ldc + 16, c51, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 6)
        {
            Put512(c + 6 * ldc, c60, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 6 * ldc + 16, c61, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 7)
        {
            Put512(c + 7 * ldc, c70, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 7 * ldc + 16, c71, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 8)
        {
            Put512(c + 8 * ldc, c80, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 8 * ldc + 16, c81, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 9)
        {
            Put512(c + 9 * ldc, c90, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 9 * ldc + 16, c91, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 10)
        {
            Put512(c + 10 * ldc, c100, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 10 * ldc + 16, c101, accumulate, bias16, clamp, lo, hi, stream);
        }
        if (rows > 11)
        {
            Put512(c + 11 * ldc, c110, accumulate, bias, clamp, lo, hi, stream);
            if (two) Put512(c + 11 * ldc + 16, c111, accumulate, bias16, clamp, lo, hi, stream);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    /// <summary>
    /// Stores a finished vector of C, <paramref name="stream"/>ing it past the caches (a whole line) where it starts one:
    /// the caller fences once its tiles are done.
    /// </summary>
    private static void Put512(float* c, Vector512<float> value, bool accumulate, float* bias, bool clamp, Vector512<float> low, Vector512<float> high, bool stream)
    {
        if (accumulate)
            value += Vector512.Load(c);
        if (bias != null)
            value += Vector512.Load(bias);
        if (clamp)
            value = Avx512F.Min(high, Avx512F.Max(low, value)); // max first, NaN kept (as VectorMath's clamp)
        if (stream && ((nint)c & 63) == 0) Avx512F.StoreAlignedNonTemporal(c, value);
        else value.Store(c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* c, Vector256<float> value, bool accumulate)
    {
        if (accumulate)
            value = Avx.Add(value, Avx.LoadVector256(c));
        Avx.Store(c, value);
    }

    /// <summary>
    /// Bias and activation over the just-stored, L1-resident tile. Kept out of the kernels on purpose: a call while
    /// the accumulators are live makes the JIT keep them in memory for the whole K loop (ymm are caller-saved).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Finish(float* c, nint ldc, int rows, int nr, float* bias, in Activation activation)
    {
        // Relu and Clip (ReLU6) are inlined: they follow most convolutions and GEMMs, and a call per vector costs
        // more than the math. Other activations run once per row through the specialised loops.
        bool clamp = activation.Kind is ActivationKind.Relu or ActivationKind.Clip;
        var low = Vector256.Create(activation.Kind == ActivationKind.Relu ? 0f : activation.Alpha);
        var high = Vector256.Create(activation.Kind == ActivationKind.Relu ? float.PositiveInfinity : activation.Beta);
        float* row = c;
        for (int r = 0; r < rows; r++, row += ldc)
        {
            if (bias == null && !clamp)
                break;
            for (int j = 0; j < nr; j += 8)
            {
                var value = Avx.LoadVector256(row + j);
                if (bias != null)
                    value = Avx.Add(value, Avx.LoadVector256(bias + j));
                if (clamp)
                    value = VectorMath.Min(high, VectorMath.Max(low, value));
                Avx.Store(row + j, value);
            }
        }
        if (clamp || activation.Kind == ActivationKind.Identity)
            return;
        ActivationKernels.ApplyRows(activation, c, ldc, rows, nr);
    }

    /// <summary>Portable path for CPUs without AVX2/FMA; same contract, any rows ≤ nr tile.</summary>
    private static void Scalar(int nr, int rows, float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation)
    {
        for (int r = 0; r < rows; r++)
        {
            float* row = c + r * ldc;
            for (int j = 0; j < nr; j++)
            {
                float sum = 0f;
                for (int p = 0; p < kc; p++)
                    sum += a[r * rs + p * cs] * b[p * ldb + j];
                if (accumulate)
                    sum += row[j];
                if (bias != null)
                    sum += bias[j];
                row[j] = ScalarMath.Apply(activation, sum);
            }
        }
    }

    private interface ICount
    {
        static abstract int Value { get; }
    }

    private struct R1 : ICount { public static int Value => 1; }

    private struct R2 : ICount { public static int Value => 2; }

    private struct R3 : ICount { public static int Value => 3; }

    private struct R4 : ICount { public static int Value => 4; }

    private struct R5 : ICount { public static int Value => 5; }

    private struct R6 : ICount { public static int Value => 6; }

    private struct R7 : ICount { public static int Value => 7; }

    private struct R8 : ICount { public static int Value => 8; }

    private struct R9 : ICount { public static int Value => 9; }

    private struct R10 : ICount { public static int Value => 10; }

    private struct R11 : ICount { public static int Value => 11; }

    private struct R12 : ICount { public static int Value => 12; }
}
