using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public unsafe class SoftmaxKernelsTests
{
    /// <summary>Softmax of x viewed as [outer, axis, inner] into y (which may be x) on a pool of this many threads.</summary>
    private static void Softmax(float* x, float* y, int outer, int axis, int inner, int threads = 1)
    {
        using var pool = new WorkerPool(threads);
        new SoftmaxJob().Run(x, y, outer, axis, inner, pool);
    }

    /// <summary>Softmax of x viewed as [outer, axis, inner] along the middle axis, in double.</summary>
    private static double[] Expected(float[] x, int outer, int axis, int inner)
    {
        var expected = new double[x.Length];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int a = 0; a < axis; a++) max = Math.Max(max, x[(o * axis + a) * inner + j]);
                for (int a = 0; a < axis; a++) sum += Math.Exp(x[(o * axis + a) * inner + j] - max);
                for (int a = 0; a < axis; a++) expected[(o * axis + a) * inner + j] = Math.Exp(x[(o * axis + a) * inner + j] - max) / sum;
            }
        return expected;
    }

    [Theory]
    [InlineData(1, 10, 1)]
    [InlineData(3, 1000, 1)]
    [InlineData(2, 7, 1)]
    [InlineData(4, 5, 8)]
    [InlineData(2, 9, 19)]
    [InlineData(1, 3, 3)]
    [InlineData(5, 1, 4)]
    public void MatchesReference(int outer, int axis, int inner)
    {
        int total = outer * axis * inner;
        var x = Reference.Random(total, seed: total, -30f, 30f);
        var y = Reference.Pinned(total);
        var inPlace = (float[])x.Clone();
        fixed (float* px = x, py = y, pi = inPlace)
        {
            Softmax(px, py, outer, axis, inner);
            Softmax(pi, pi, outer, axis, inner);
        }
        Assert.True(Reference.RelativeL2(y.AsSpan(0, total), Expected(x, outer, axis, inner)) <= 1e-6);
        Assert.Equal(y.AsSpan(0, total).ToArray(), inPlace.AsSpan(0, total).ToArray());
    }

    /// <summary>
    /// Long axes of near-equal values (every term of the sum about the same): a float sum per lane over the whole axis
    /// was 4.1e-4 off (relative L2) over an axis of 100,000 with stride 8 and 4.3e-4 over a row of 1,000,000, where
    /// ONNX Runtime is 2.7e-7 off on the first. Found by the QA helper (accuracy), session 37.
    /// </summary>
    [Theory]
    [InlineData(1, 1_000_000, 1)]
    [InlineData(1, 100_000, 8)]
    [InlineData(2, 50_000, 16)]
    public void Long_axes_of_near_equal_values_keep_their_sum_accurate(int outer, int axis, int inner)
    {
        int total = outer * axis * inner;
        var x = Reference.Random(total, seed: 5, 0f, 0.001f);
        var y = Reference.Pinned(total);
        fixed (float* px = x, py = y)
            Softmax(px, py, outer, axis, inner);
        double error = Reference.RelativeL2(y.AsSpan(0, total), Expected(x, outer, axis, inner));
        Assert.True(error <= 1e-6, $"relative L2 {error:E2}");
    }

    /// <summary>
    /// The layer's job shares rows (inner 1) or groups of eight columns between the pool's threads, parts starting and
    /// ending mid-slice (each case holds 64K values or more, which the schedule shares): the same bits as one thread
    /// running every slice whole, in place too, and the same as the reference. ViT's attention rows (197 values: a
    /// vector tail of five) and strided axes whose last group is partial.
    /// </summary>
    [Theory]
    [InlineData(591, 197, 1)]
    [InlineData(3, 40, 603)]
    [InlineData(2, 5, 7003)]
    public void Shared_by_threads_the_bits_of_one(int outer, int axis, int inner)
    {
        int total = outer * axis * inner;
        var x = Reference.Random(total, seed: 11, -20f, 20f);
        var alone = Reference.Pinned(total);
        var shared = Reference.Pinned(total);
        var inPlace = (float[])x.Clone();
        fixed (float* px = x, pa = alone, ps = shared, pi = inPlace)
        {
            Softmax(px, pa, outer, axis, inner);
            Softmax(px, ps, outer, axis, inner, threads: 3);
            Softmax(pi, pi, outer, axis, inner, threads: 3);
        }
        Assert.Equal(alone.AsSpan(0, total).ToArray(), shared.AsSpan(0, total).ToArray());
        Assert.Equal(alone.AsSpan(0, total).ToArray(), inPlace.AsSpan(0, total).ToArray());
        Assert.True(Reference.RelativeL2(shared.AsSpan(0, total), Expected(x, outer, axis, inner)) <= 1e-6);
    }
}
