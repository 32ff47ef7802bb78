using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>Numerically stable softmax along one axis.</summary>
public static unsafe class SoftmaxKernels
{
    /// <summary>Softmax along the middle axis of x viewed as [outer, axisLength, inner]; y may equal x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* x, float* y, int outer, int axisLength, int inner)
    {
        if (axisLength <= 0 || inner <= 0)
            return;
        nint slice = (nint)axisLength * inner;
        for (int o = 0; o < outer; o++)
        {
            float* xs = x + o * slice, ys = y + o * slice;
            if (inner == 1)
                Contiguous(xs, ys, axisLength);
            else
                Strided(xs, ys, axisLength, inner);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Contiguous(float* x, float* y, int length)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (VectorMath.IsSupported && length >= 8)
        {
            var maxV = Vector256.Create(float.NegativeInfinity);
            for (; i <= length - 8; i += 8)
                maxV = Avx.Max(maxV, Avx.LoadVector256(x + i));
            for (int lane = 0; lane < 8; lane++)
                max = MathF.Max(max, maxV.GetElement(lane));
        }
        for (; i < length; i++)
            max = MathF.Max(max, x[i]);

        // e^(x - max) and its sum; eight float lanes keep partial sums short, the final sum is in double.
        double sum = 0;
        i = 0;
        if (VectorMath.IsSupported)
        {
            var maxV = Vector256.Create(max);
            var sumV = Vector256<float>.Zero;
            for (; i <= length - 8; i += 8)
            {
                var e = VectorMath.Exp(Avx.Subtract(Avx.LoadVector256(x + i), maxV));
                Avx.Store(y + i, e);
                sumV = Avx.Add(sumV, e);
            }
            for (int lane = 0; lane < 8; lane++)
                sum += sumV.GetElement(lane);
        }
        for (; i < length; i++)
        {
            y[i] = MathF.Exp(x[i] - max);
            sum += y[i];
        }
        Scale(y, length, (float)(1.0 / sum));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scale(float* y, int length, float factor)
    {
        int i = 0;
        if (VectorMath.IsSupported)
        {
            var f = Vector256.Create(factor);
            for (; i <= length - 8; i += 8)
                Avx.Store(y + i, Avx.Multiply(Avx.LoadVector256(y + i), f));
        }
        for (; i < length; i++)
            y[i] *= factor;
    }

    /// <summary>Axis with stride 'inner': vectorised across 8 neighbouring inner positions at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strided(float* x, float* y, int axisLength, int inner)
    {
        int j = 0;
        if (VectorMath.IsSupported)
        {
            for (; j <= inner - 8; j += 8)
            {
                var max = Vector256.Create(float.NegativeInfinity);
                for (int a = 0; a < axisLength; a++)
                    max = Avx.Max(max, Avx.LoadVector256(x + (nint)a * inner + j));
                var sum = Vector256<float>.Zero;
                for (int a = 0; a < axisLength; a++)
                {
                    nint at = (nint)a * inner + j;
                    var e = VectorMath.Exp(Avx.Subtract(Avx.LoadVector256(x + at), max));
                    Avx.Store(y + at, e);
                    sum = Avx.Add(sum, e);
                }
                var factor = Avx.Divide(Vector256.Create(1f), sum);
                for (int a = 0; a < axisLength; a++)
                {
                    nint at = (nint)a * inner + j;
                    Avx.Store(y + at, Avx.Multiply(Avx.LoadVector256(y + at), factor));
                }
            }
        }
        for (; j < inner; j++)
        {
            float max = float.NegativeInfinity;
            for (int a = 0; a < axisLength; a++)
                max = MathF.Max(max, x[(nint)a * inner + j]);
            double sum = 0;
            for (int a = 0; a < axisLength; a++)
            {
                nint at = (nint)a * inner + j;
                float e = MathF.Exp(x[at] - max);
                y[at] = e;
                sum += e;
            }
            float factor = (float)(1.0 / sum);
            for (int a = 0; a < axisLength; a++)
                y[(nint)a * inner + j] *= factor;
        }
    }
}
