using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The copies weight recipes are made of (scaled copies and transposes), vectorised so that re-deriving a weight
/// at refit costs about what copying its bytes costs. Results are bit-identical to the scalar forms: each element is
/// one float multiply (skipped when the scale is 1).
/// </summary>
internal static unsafe class PackingKernels
{
    /// <summary>dst[i] = scale · src[i] for i &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaledCopy(float* src, float* dst, nint n, float scale)
    {
        if (scale == 1f)
        {
            Buffer.MemoryCopy(src, dst, n * sizeof(float), n * sizeof(float));
            return;
        }
        nint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(src + i) * s, dst + i);
        }
        for (; i < n; i++) dst[i] = scale * src[i];
    }

    /// <summary>
    /// Writes the transpose of <paramref name="rows"/> source rows of <paramref name="length"/> floats (row stride
    /// <paramref name="length"/>), each row j times its own factor (<paramref name="factors"/>[j], or
    /// <paramref name="scale"/> for every row when there are none), with the source columns permuted: column
    /// p = c · taps + t lands in destination row t · (length / taps) + c (taps = 1: no permutation). So
    /// dst[row(p) · dstStride + j] = factor_j · src[j · length + p]: a GEMM weight's transpose, or a convolution
    /// weight's OIHW → [(kh, kw, c), outC] reorder. Runs in 8×8 tiles held in registers, so both sides are read and
    /// written in whole vectors, over column chunks whose destination rows stay in cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaledTranspose(float* src, int rows, int length, int taps, float scale, float* factors, float* dst, int dstStride)
    {
        if (taps < 1 || length % taps != 0) throw new ArgumentException($"{length} columns do not hold whole groups of {taps} taps.");
        int channels = length / taps;
        const int Chunk = 128;
        int vectorRows = Avx.IsSupported ? rows / 8 * 8 : 0;
        nint* offsets = stackalloc nint[8];
        for (int p0 = 0; p0 < length; p0 += Chunk)
        {
            int p1 = Math.Min(length, p0 + Chunk), vectorEnd = p0 + (p1 - p0) / 8 * 8;
            for (int j = 0; j < rows; j++)
            {
                float factor = factors == null ? scale : factors[j];
                // Rows in whole tiles take the vector path below, except the columns past the last whole tile.
                for (int p = j < vectorRows ? vectorEnd : p0; p < p1; p++)
                    dst[((nint)(p % taps) * channels + p / taps) * dstStride + j] = factor * src[(nint)j * length + p];
            }
            for (int j = 0; j < vectorRows; j += 8)
            {
                var m = factors == null ? Vector256.Create(scale) : Vector256.Load(factors + j);
                int c = p0 / taps, t = p0 % taps;
                for (int p = p0; p < vectorEnd; p += 8)
                {
                    for (int i = 0; i < 8; i++)
                    {
                        offsets[i] = ((nint)t * channels + c) * dstStride + j;
                        if (++t == taps) (t, c) = (0, c + 1);
                    }
                    Transpose8x8(src + (nint)j * length + p, length, m, dst, offsets);
                }
            }
        }
    }

    /// <summary>Transposes the 8×8 tile at src and stores its row i (source column i) times scale at dst + offsets[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint srcStride, Vector256<float> scale, float* dst, nint* offsets)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride);
        var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride);
        var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride);
        var r7 = Avx.LoadVector256(src + 7 * srcStride);
        // Interleave pairs, then quadruples, then swap 128-bit halves: column c of the tile ends up in vector c.
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst + offsets[0], Avx.Permute2x128(u0, u4, 0x20) * scale);
        Avx.Store(dst + offsets[1], Avx.Permute2x128(u1, u5, 0x20) * scale);
        Avx.Store(dst + offsets[2], Avx.Permute2x128(u2, u6, 0x20) * scale);
        Avx.Store(dst + offsets[3], Avx.Permute2x128(u3, u7, 0x20) * scale);
        Avx.Store(dst + offsets[4], Avx.Permute2x128(u0, u4, 0x31) * scale);
        Avx.Store(dst + offsets[5], Avx.Permute2x128(u1, u5, 0x31) * scale);
        Avx.Store(dst + offsets[6], Avx.Permute2x128(u2, u6, 0x31) * scale);
        Avx.Store(dst + offsets[7], Avx.Permute2x128(u3, u7, 0x31) * scale);
    }
}
