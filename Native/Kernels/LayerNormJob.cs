using System.Numerics;
using System.Runtime.CompilerServices;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// y = (x − mean)/√(var + ε)·scale + bias over rows of <c>n</c> values (a LayerNormalization's normalised dimensions),
/// the rows shared out over a <see cref="WorkerPool"/>, each row whole on one thread: its mean and variance are summed
/// in the same order at any thread count, so the bits are the same. In <see cref="Vector{T}"/>s of the CPU's width
/// (128 bits on ARM64, 256 on x64), portable everywhere. One instance per layer; not thread-safe.
/// </summary>
internal sealed unsafe class LayerNormJob : IParallelTask, IRowTask
{
    private float* _x, _y, _scale, _bias;
    private int _n;
    private float _epsilon;
    private RowSchedule _schedule;

    /// <summary>Normalises <paramref name="rows"/> rows of <paramref name="n"/> floats; <paramref name="bias"/> may be null.</summary>
    public void Run(float* x, float* y, float* scale, float* bias, int rows, int n, float epsilon, WorkerPool pool)
    {
        if ((long)rows * n == 0) return;
        _x = x;
        _y = y;
        _scale = scale;
        _bias = bias;
        (_n, _epsilon) = (n, epsilon);
        _schedule.Plan(1, rows, (long)rows * n, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        for (int r = row0; r < row1; r++)
            Row(_x + (nint)r * _n, _y + (nint)r * _n, _scale, _bias, _n, _epsilon);
    }

    /// <summary>
    /// One row: the mean, then the deviations from it, whose sum corrects the mean (a float sum of many values far from
    /// zero is off by a few of their ulps, which would shift every output) and whose squares give the variance (two
    /// passes, so a large mean does not cancel it away), then the scaled deviations. The last few values take the vector
    /// lanes' operations one at a time (a product rounded, then a sum), so every value gets the same rounding wherever it
    /// lies. A row whose float sums are not finite (beyond ~1.8e19 or with a NaN or an infinity) or whose squares may have
    /// underflowed where epsilon cannot hide it is done again in double (<see cref="RowInDouble"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Row(float* x, float* y, float* scale, float* bias, int n, float epsilon)
    {
        int width = Vector<float>.Count, whole = n - n % width;
        var sum = Vector<float>.Zero;
        for (int i = 0; i < whole; i += width) sum += Load(x + i);
        float total = Vector.Sum(sum);
        for (int i = whole; i < n; i++) total += x[i];
        float first = total / n;

        var center = new Vector<float>(first);
        var deviations = Vector<float>.Zero;
        var squares = Vector<float>.Zero;
        for (int i = 0; i < whole; i += width)
        {
            var d = Load(x + i) - center;
            deviations += d;
            squares += d * d;
        }
        float deviation = Vector.Sum(deviations), squared = Vector.Sum(squares);
        for (int i = whole; i < n; i++)
        {
            float d = x[i] - first;
            deviation += d;
            squared += d * d;
        }
        // The float sums overflow for rows beyond ~1.8e19 (a square) or whose sum passes 3.4e38, and the squares of
        // tiny values underflow to a variance of 0 that only an epsilon of about 0 lets show: such rows (and rows holding
        // a NaN or an infinity, whose sums are not finite either) take the double pass, rare and exact for any float.
        if (!float.IsFinite(squared) || (squared < 1e-30f && epsilon < 1e-20f))
        {
            RowInDouble(x, y, scale, bias, n, epsilon);
            return;
        }
        double shift = (double)deviation / n;
        float mean = (float)(first + shift);
        float inverse = (float)(1 / Math.Sqrt(Math.Max(0, (double)squared / n - shift * shift) + epsilon));

        center = new Vector<float>(mean);
        var factor = new Vector<float>(inverse);
        for (int i = 0; i < whole; i += width)
        {
            var normalized = (Load(x + i) - center) * factor * Load(scale + i);
            Store(bias == null ? normalized : normalized + Load(bias + i), y + i);
        }
        for (int i = whole; i < n; i++)
        {
            float normalized = (x[i] - mean) * inverse * scale[i];
            y[i] = bias == null ? normalized : normalized + bias[i];
        }
    }

    /// <summary>
    /// One row in double, whose range holds the sum of any floats and the square of any difference of two: the mean,
    /// the variance about it and every output as the float64 definition gives them, rounded once to float. A row
    /// holding a NaN or an infinity comes out NaN, as in float.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RowInDouble(float* x, float* y, float* scale, float* bias, int n, float epsilon)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += x[i];
        double mean = sum / n, squared = 0;
        for (int i = 0; i < n; i++)
        {
            double d = x[i] - mean;
            squared += d * d;
        }
        double inverse = 1 / Math.Sqrt(squared / n + epsilon);
        for (int i = 0; i < n; i++)
        {
            double normalized = (x[i] - mean) * inverse * scale[i];
            y[i] = (float)(bias == null ? normalized : normalized + bias[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector<float> v, float* p) => Unsafe.WriteUnaligned(p, v);
}
