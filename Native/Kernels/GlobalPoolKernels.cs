using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>GlobalAveragePool / GlobalMaxPool: one value per contiguous plane.</summary>
public static unsafe class GlobalPoolKernels
{
    /// <summary>y[p] = mean of x[p·planeSize .. (p+1)·planeSize).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Average(float* x, float* y, int planes, int planeSize)
    {
        for (int p = 0; p < planes; p++)
            y[p] = planeSize == 0 ? 0f : (float)(Sum(x + (nint)p * planeSize, planeSize) / planeSize);
    }

    /// <summary>y[p] = max of x[p·planeSize .. (p+1)·planeSize).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Max(float* x, float* y, int planes, int planeSize)
    {
        for (int p = 0; p < planes; p++)
            y[p] = PlaneMax(x + (nint)p * planeSize, planeSize);
    }

    // Pixels per chunk: a chunk of any channel count stays in L1 while each block of channels passes over it.
    private const int ChunkFloats = 8192;

    /// <summary>
    /// Channels-last: y[n, c] = mean (or max) over the pixels of x[n, pixel, c], for channels [c0, c1) of the
    /// <paramref name="channels"/> (a slice one thread of <see cref="GlobalPoolJob"/> computes). The sums run in float in
    /// pixel order, as the blocked kernels of ONNX Runtime do, so a channel's result does not depend on the slices. x
    /// streams by in memory order, a chunk of pixels at a time, each block of channels held in registers across the
    /// chunk (a pass over every pixel for each vector of channels cost up to 4× as much once an image outgrew the
    /// cache; a load and store of y per pixel, 2–3× as much as registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelsLast(PoolKind kind, float* x, float* y, int batch, int pixels, int channels, int c0, int c1)
    {
        bool max = kind == PoolKind.Max;
        int chunk = Math.Max(1, ChunkFloats / Math.Max(1, c1 - c0));
        for (int n = 0; n < batch; n++, y += channels, x += (nint)pixels * channels)
        {
            new Span<float>(y + c0, c1 - c0).Fill(max ? float.NegativeInfinity : 0f);
            for (int p0 = 0; p0 < pixels; p0 += chunk)
            {
                float* first = x + (nint)p0 * channels;
                int count = Math.Min(chunk, pixels - p0);
                int c = max ? Blocks<MaxCombine>(c0, c1, first, y, count, channels) : Blocks<SumCombine>(c0, c1, first, y, count, channels);
                for (; c < c1; c++)
                    for (int p = 0; p < count; p++)
                    {
                        float v = first[(nint)p * channels + c];
                        y[c] = !max ? y[c] + v : float.IsNaN(v) || v > y[c] ? v : y[c];
                    }
            }
            if (!max)
            {
                float scale = pixels == 0 ? 0f : 1f / pixels;
                for (int c = c0; c < c1; c++) y[c] *= scale;
            }
        }
    }

    /// <summary>
    /// The channels in [c0, c1) of <paramref name="count"/> pixels (<paramref name="channels"/> apart) that fill whole
    /// vectors, 512-bit where the CPU has them; returns where it stopped.
    /// </summary>
    private static int Blocks<TCombine>(int c0, int c1, float* x, float* y, int count, int channels) where TCombine : struct, IPoolCombine
    {
        if (!VectorMath.IsSupported) return c0;
        int c = GemmMicroKernels.WideSupported ? Blocks<Float512, Vector512<float>, TCombine>(c0, c1, x, y, count, channels) : c0;
        return Blocks<Float256, Vector256<float>, TCombine>(c, c1, x, y, count, channels);
    }

    /// <summary>Four vectors of channels at a time, then one, each carried in registers over the pixels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Blocks<TOps, TV, TCombine>(int c, int end, float* x, float* y, int count, int channels)
        where TOps : struct, IFloatVector<TV> where TV : struct where TCombine : struct, IPoolCombine
    {
        int lanes = TOps.Count;
        for (; c + 4 * lanes <= end; c += 4 * lanes)
        {
            TV a0 = TOps.Load(y + c), a1 = TOps.Load(y + c + lanes), a2 = TOps.Load(y + c + 2 * lanes), a3 = TOps.Load(y + c + 3 * lanes);
            float* px = x + c;
            for (int p = 0; p < count; p++, px += channels)
            {
                a0 = TCombine.Combine<TOps, TV>(a0, TOps.Load(px));
                a1 = TCombine.Combine<TOps, TV>(a1, TOps.Load(px + lanes));
                a2 = TCombine.Combine<TOps, TV>(a2, TOps.Load(px + 2 * lanes));
                a3 = TCombine.Combine<TOps, TV>(a3, TOps.Load(px + 3 * lanes));
            }
            TOps.Store(a0, y + c);
            TOps.Store(a1, y + c + lanes);
            TOps.Store(a2, y + c + 2 * lanes);
            TOps.Store(a3, y + c + 3 * lanes);
        }
        for (; c + lanes <= end; c += lanes)
        {
            TV a = TOps.Load(y + c);
            float* px = x + c;
            for (int p = 0; p < count; p++, px += channels)
                a = TCombine.Combine<TOps, TV>(a, TOps.Load(px));
            TOps.Store(a, y + c);
        }
        return c;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Sum(float* x, int length)
    {
        int i = 0;
        double sum = 0;
        if (VectorMath.IsSupported && length >= 32)
        {
            // Four independent accumulators hide the add latency.
            var s0 = Vector256<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
            for (; i <= length - 32; i += 32)
            {
                s0 = Avx.Add(s0, Avx.LoadVector256(x + i));
                s1 = Avx.Add(s1, Avx.LoadVector256(x + i + 8));
                s2 = Avx.Add(s2, Avx.LoadVector256(x + i + 16));
                s3 = Avx.Add(s3, Avx.LoadVector256(x + i + 24));
            }
            var total = Avx.Add(Avx.Add(s0, s1), Avx.Add(s2, s3));
            for (int lane = 0; lane < 8; lane++)
                sum += total.GetElement(lane);
        }
        for (; i < length; i++)
            sum += x[i];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float PlaneMax(float* x, int length)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (VectorMath.IsSupported && length >= 16)
        {
            var m0 = Vector256.Create(float.NegativeInfinity);
            var m1 = m0;
            for (; i <= length - 16; i += 16)
            {
                // NaN kept from either side (MaxCombine): the instruction alone drops a NaN accumulator.
                m0 = VectorMath.KeepNaN(m0, Avx.Max(m0, Avx.LoadVector256(x + i)));
                m1 = VectorMath.KeepNaN(m1, Avx.Max(m1, Avx.LoadVector256(x + i + 8)));
            }
            var both = VectorMath.KeepNaN(m0, Avx.Max(m0, m1));
            for (int lane = 0; lane < 8; lane++)
                max = MathF.Max(max, both.GetElement(lane));
        }
        for (; i < length; i++)
            max = MathF.Max(max, x[i]);
        return max;
    }
}
