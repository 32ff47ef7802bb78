using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public unsafe class LayerNormJobTests
{
    private static float[] Normalize(float[] x, float[] scale, float[]? bias, int rows, int threads)
    {
        var y = Reference.Pinned(x.Length);
        using var pool = new WorkerPool(threads);
        fixed (float* px = x, py = y, ps = scale, pb = bias)
            new LayerNormJob().Run(px, py, ps, pb, rows, scale.Length, 1e-5f, pool);
        return y;
    }

    private static double[] Expected(float[] x, float[] scale, float[]? bias)
    {
        int n = scale.Length;
        var y = new double[x.Length];
        for (int start = 0; start < x.Length; start += n)
        {
            double mean = x.Skip(start).Take(n).Average(v => (double)v);
            double variance = x.Skip(start).Take(n).Average(v => (v - mean) * (v - mean));
            for (int j = 0; j < n; j++)
                y[start + j] = (x[start + j] - mean) / Math.Sqrt(variance + 1e-5) * scale[j] + (bias?[j] ?? 0);
        }
        return y;
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(3, 96)]
    [InlineData(700, 101)]
    public void Rows_match_a_double_reference_even_far_from_zero(int rows, int n)
    {
        // A large common offset: a variance taken as E[x²] − E[x]² in float would cancel to noise.
        var x = Reference.Random(rows * n, seed: n, -1f, 1f).Select(v => 1000f + v).ToArray();
        var scale = Reference.Random(n, seed: 2);
        var bias = Reference.Random(n, seed: 3);
        Assert.True(Reference.RelativeL2(Normalize(x, scale, bias, rows, 2), Expected(x, scale, bias)) <= 1e-4);
        Assert.True(Reference.RelativeL2(Normalize(x, scale, null, rows, 2), Expected(x, scale, null)) <= 1e-4);
    }

    [Fact]
    public void Each_row_gets_the_same_bits_at_any_thread_count()
    {
        const int rows = 900, n = 77;
        var x = Reference.Random(rows * n, seed: 9);
        var scale = Reference.Random(n, seed: 2);
        var one = Normalize(x, scale, null, rows, 1);
        foreach (int threads in new[] { 2, 3, 8 })
            Assert.Equal(one, Normalize(x, scale, null, rows, threads));
    }
}
