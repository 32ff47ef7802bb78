using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Register-tiled GEMM micro-kernels: C[rows, nr] (+)= A[rows, kc]·B[kc, nr], then bias and activation while the
/// tile is hot. A element (i, p) is at a[i·rs + p·cs], so both A layouts need no packing;
/// B rows are nr contiguous floats, ldb apart. C is always a full nr wide (edges go through a scratch tile).
/// The bias and activation epilogue runs on the stored tile while it is still in L1.
/// Kernels are compiled fully optimised on first use: a layer must not run tier-0 code while tiering catches up.
/// </summary>
internal static unsafe class GemmMicroKernels
{
    public const int MaxTileFloats = 6 * 32;

    public static void Tile(int nr, int rows, float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation)
    {
        if (!VectorMath.IsSupported)
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel16<TRows>(float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate) where TRows : struct, IRowCount
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
        float* c, nint ldc, bool accumulate) where TRows : struct, IRowCount
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
        float* c, nint ldc, bool accumulate) where TRows : struct, IRowCount
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
        for (int r = 0; r < rows; r++, c += ldc)
            ActivationKernels.Apply(activation, c, c, nr);
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

    private interface IRowCount
    {
        static abstract int Value { get; }
    }

    private struct R1 : IRowCount { public static int Value => 1; }

    private struct R2 : IRowCount { public static int Value => 2; }

    private struct R3 : IRowCount { public static int Value => 3; }

    private struct R4 : IRowCount { public static int Value => 4; }

    private struct R5 : IRowCount { public static int Value => 5; }

    private struct R6 : IRowCount { public static int Value => 6; }
}
