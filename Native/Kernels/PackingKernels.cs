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
    /// <paramref name="length"/>) times <paramref name="scale"/>: dst[p · dstStride + j] = scale · src[j · length + p].
    /// Runs in 8×8 tiles held in registers, so both sides are read and written in whole vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaledTranspose(float* src, int rows, int length, float scale, float* dst, int dstStride)
    {
        int j = 0;
        if (Avx.IsSupported)
        {
            var s = Vector256.Create(scale);
            for (; j <= rows - 8; j += 8)
            {
                float* block = src + (nint)j * length;
                int p = 0;
                for (; p <= length - 8; p += 8) Transpose8x8(block + p, length, s, dst + (nint)p * dstStride + j, dstStride);
                for (; p < length; p++)
                    for (int r = 0; r < 8; r++) dst[(nint)p * dstStride + j + r] = scale * block[(nint)r * length + p];
            }
        }
        for (; j < rows; j++)
        {
            float* row = src + (nint)j * length;
            for (int p = 0; p < length; p++) dst[(nint)p * dstStride + j] = scale * row[p];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint srcStride, Vector256<float> scale, float* dst, nint dstStride)
    {
        var r0 = Avx.LoadVector256(src) * scale;
        var r1 = Avx.LoadVector256(src + srcStride) * scale;
        var r2 = Avx.LoadVector256(src + 2 * srcStride) * scale;
        var r3 = Avx.LoadVector256(src + 3 * srcStride) * scale;
        var r4 = Avx.LoadVector256(src + 4 * srcStride) * scale;
        var r5 = Avx.LoadVector256(src + 5 * srcStride) * scale;
        var r6 = Avx.LoadVector256(src + 6 * srcStride) * scale;
        var r7 = Avx.LoadVector256(src + 7 * srcStride) * scale;
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
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
