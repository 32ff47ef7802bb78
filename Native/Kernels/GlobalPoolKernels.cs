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

    /// <summary>
    /// Channels-last: y[n, c] = mean (or max) over the pixels of x[n, pixel, c]. The sums run in float in pixel order,
    /// as the blocked kernels of ONNX Runtime do; y holds them while x streams by in memory order (a pass over every
    /// pixel for each vector of channels, as before, cost up to 4× as much once an image outgrew the cache).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelsLast(PoolKind kind, float* x, float* y, int batch, int pixels, int channels)
    {
        bool max = kind == PoolKind.Max;
        float scale = pixels == 0 ? 0f : 1f / pixels;
        for (int n = 0; n < batch; n++, y += channels)
        {
            new Span<float>(y, channels).Fill(max ? float.NegativeInfinity : 0f);
            for (int p = 0; p < pixels; p++, x += channels)
            {
                int c = 0;
                if (VectorMath.IsSupported)
                    for (; c + 8 <= channels; c += 8)
                    {
                        var v = Avx.LoadVector256(x + c);
                        var acc = Avx.LoadVector256(y + c);
                        Avx.Store(y + c, max ? VectorMath.Max(acc, v) : acc + v);
                    }
                for (; c < channels; c++)
                {
                    float v = x[c];
                    y[c] = !max ? y[c] + v : float.IsNaN(v) || v > y[c] ? v : y[c];
                }
            }
            if (!max)
                for (int c = 0; c < channels; c++) y[c] *= scale;
        }
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
                m0 = Avx.Max(m0, Avx.LoadVector256(x + i));
                m1 = Avx.Max(m1, Avx.LoadVector256(x + i + 8));
            }
            var both = Avx.Max(m0, m1);
            for (int lane = 0; lane < 8; lane++)
                max = MathF.Max(max, both.GetElement(lane));
        }
        for (; i < length; i++)
            max = MathF.Max(max, x[i]);
        return max;
    }
}
