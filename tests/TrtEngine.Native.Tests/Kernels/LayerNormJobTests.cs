using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public unsafe class LayerNormJobTests
{
    private static float[] Normalize(float[] x, float[] scale, float[]? bias, int rows, int threads, float epsilon = 1e-5f)
    {
        var y = Reference.Pinned(x.Length);
        using var pool = new WorkerPool(threads);
        fixed (float* px = x, py = y, ps = scale, pb = bias)
            new LayerNormJob().Run(px, py, ps, pb, rows, scale.Length, epsilon, pool);
        return y;
    }

    private static double[] Expected(float[] x, float[] scale, float[]? bias, double epsilon = 1e-5)
    {
        int n = scale.Length;
        var y = new double[x.Length];
        for (int start = 0; start < x.Length; start += n)
        {
            double mean = x.Skip(start).Take(n).Average(v => (double)v);
            double variance = x.Skip(start).Take(n).Average(v => (v - mean) * (v - mean));
            for (int j = 0; j < n; j++)
                y[start + j] = (x[start + j] - mean) / Math.Sqrt(variance + epsilon) * scale[j] + (bias?[j] ?? 0);
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

    /// <summary>
    /// Rows of any finite values: float sums of the row (beyond 3.4e38) or of its squared deviations (|x| beyond ~1.8e19)
    /// overflowed, and a row spread over [0, 3e38] came out NaN, one of values near 1e20 all β. Rows of tiny values
    /// with no epsilon: their squares underflowed to a variance of 0 (infinities out).
    /// </summary>
    [Theory]
    [InlineData("spread over [0, 3e38]", 7)]
    [InlineData("spread over [0, 3e38]", 96)]
    [InlineData("around ±1e20", 101)]
    [InlineData("around ±3e38", 33)]
    [InlineData("a few huge among small", 768)]
    [InlineData("tiny, no epsilon", 40)]
    public void Rows_of_any_finite_values_match_a_double_reference(string values, int n)
    {
        const int rows = 5;
        var unit = Reference.Random(rows * n, seed: n, -1f, 1f);
        float[] x = values switch
        {
            "spread over [0, 3e38]" => unit.Select(v => (v + 1) * 1.5e38f).ToArray(),
            "around ±1e20" => unit.Select(v => v * 1e20f).ToArray(),
            "around ±3e38" => unit.Select(v => v < 0 ? -3e38f + v * 1e37f : 3e38f - v * 1e37f).ToArray(),
            "a few huge among small" => unit.Select((v, i) => i % 97 == 5 ? v * 3e38f : v).ToArray(),
            _ => unit.Select(v => v * 1e-30f).ToArray(),
        };
        float epsilon = values.StartsWith("tiny") ? 0f : 1e-5f;
        var scale = Reference.Random(n, seed: 2);
        var bias = Reference.Random(n, seed: 3);
        var y = Normalize(x, scale, bias, rows, 2, epsilon);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        Assert.True(Reference.RelativeL2(y, Expected(x, scale, bias, epsilon)) <= 1e-5, values);
    }

    /// <summary>A NaN or an infinity in a row makes the row NaN, as before (ONNX Runtime's too); the other rows are untouched.</summary>
    [Fact]
    public void A_row_holding_a_NaN_or_an_infinity_is_NaN_and_the_others_are_not()
    {
        const int n = 19;
        var x = Reference.Random(4 * n, seed: 4);
        x[3] = float.NaN;
        x[n + 5] = float.PositiveInfinity;
        x[2 * n + 7] = float.NegativeInfinity;
        var scale = Reference.Random(n, seed: 2);
        var y = Normalize(x, scale, null, 4, 1);
        Assert.All(y[..(3 * n)], v => Assert.True(float.IsNaN(v)));
        Assert.True(Reference.RelativeL2(y[(3 * n)..], Expected(x[(3 * n)..], scale, null)) <= 1e-5);
    }
}
