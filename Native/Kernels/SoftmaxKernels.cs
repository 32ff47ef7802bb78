using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>Numerically stable softmax along one axis; <see cref="SoftmaxJob"/> runs it.</summary>
public static unsafe class SoftmaxKernels
{
    // Terms a float partial sum of e^(x - max) takes before it is added to a double one.
    private const int SumBlock = 128;

    /// <summary>
    /// Columns [<paramref name="j0"/>, <paramref name="j1"/>) of slice <paramref name="o"/> (its whole row where
    /// <paramref name="inner"/> is 1). Each column's values are computed the same way whatever range holds it, with
    /// groups of 8 columns from column 0 going vector-wide, so splitting a slice between threads keeps the bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Slice(float* x, float* y, int o, int axisLength, int inner, int j0, int j1)
    {
        if (axisLength <= 0 || inner <= 0)
            return;
        nint at = o * ((nint)axisLength * inner);
        if (inner == 1)
            Contiguous(x + at, y + at, axisLength);
        else
            Strided(x + at, y + at, axisLength, inner, j0, j1);
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

        // e^(x - max) and its sum: eight float lanes sum a block of SumBlock values each, and the blocks are added in
        // double, so no float partial sum runs longer than SumBlock terms however long the row (one float sum a lane
        // over a row of 10^6 near-equal values was 4e-4 off).
        double sum = 0;
        i = 0;
        if (VectorMath.IsSupported)
        {
            var maxV = Vector256.Create(max);
            while (i <= length - 8)
            {
                var sumV = Vector256<float>.Zero;
                int end = i + Math.Min(SumBlock, (length - i) / 8) * 8;
                for (; i < end; i += 8)
                {
                    var e = VectorMath.Exp(Avx.Subtract(Avx.LoadVector256(x + i), maxV));
                    Avx.Store(y + i, e);
                    sumV = Avx.Add(sumV, e);
                }
                for (int lane = 0; lane < 8; lane++)
                    sum += sumV.GetElement(lane);
            }
        }
        if (VectorMath.IsSupported && i < length)
        {
            // The last few values through the same vector e^x, padded with the max (whose e^0 is masked out of the sum):
            // a scalar exp a value cost as much as a vector of eight (ViT-Ti/16's 197-value rows end in five).
            int rest = length - i;
            float* tail = stackalloc float[8];
            for (int lane = 0; lane < 8; lane++) tail[lane] = lane < rest ? x[i + lane] : max;
            var e = VectorMath.Exp(Avx.Subtract(Avx.LoadVector256(tail), Vector256.Create(max)));
            e = Avx.And(e, Avx.CompareLessThan(Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7), Vector256.Create((float)rest)));
            Avx.Store(tail, e);
            for (int lane = 0; lane < rest; lane++) y[i + lane] = tail[lane];
            var halves = Avx.ConvertToVector256Double(Sse.Add(e.GetLower(), e.GetUpper()));
            sum += Vector256.Sum(halves);
            i = length;
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

    /// <summary>Axis with stride 'inner', columns [j0, j1): vectorised across 8 neighbouring inner positions at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strided(float* x, float* y, int axisLength, int inner, int j0, int j1)
    {
        int j = j0;
        if (VectorMath.IsSupported)
        {
            for (; j <= j1 - 8; j += 8)
            {
                var max = Vector256.Create(float.NegativeInfinity);
                for (int a = 0; a < axisLength; a++)
                    max = Avx.Max(max, Avx.LoadVector256(x + (nint)a * inner + j));
                // Float sums of SumBlock values at most, added in double (one float sum over an axis of 10^5 was 4e-4 off).
                Vector256<double> sumLow = Vector256<double>.Zero, sumHigh = Vector256<double>.Zero;
                for (int a0 = 0; a0 < axisLength; a0 += SumBlock)
                {
                    var sum = Vector256<float>.Zero;
                    for (int a = a0, a1 = Math.Min(axisLength, a0 + SumBlock); a < a1; a++)
                    {
                        nint at = (nint)a * inner + j;
                        var e = VectorMath.Exp(Avx.Subtract(Avx.LoadVector256(x + at), max));
                        Avx.Store(y + at, e);
                        sum = Avx.Add(sum, e);
                    }
                    sumLow = Avx.Add(sumLow, Avx.ConvertToVector256Double(sum.GetLower()));
                    sumHigh = Avx.Add(sumHigh, Avx.ConvertToVector256Double(sum.GetUpper()));
                }
                var one = Vector256.Create(1.0);
                var factor = Vector256.Create(Avx.ConvertToVector128Single(Avx.Divide(one, sumLow)), Avx.ConvertToVector128Single(Avx.Divide(one, sumHigh)));
                for (int a = 0; a < axisLength; a++)
                {
                    nint at = (nint)a * inner + j;
                    Avx.Store(y + at, Avx.Multiply(Avx.LoadVector256(y + at), factor));
                }
            }
        }
        for (; j < j1; j++)
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
