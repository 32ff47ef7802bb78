namespace TrtEngine.Native.Tests.Kernels;

/// <summary>Seeded inputs, double-precision reference functions and error metrics for kernel tests.</summary>
internal static class Reference
{
    public static float[] Random(int length, int seed, float min = -1f, float max = 1f)
    {
        var random = new Random(seed);
        var values = GC.AllocateUninitializedArray<float>(Math.Max(length, 1), pinned: true);
        for (int i = 0; i < values.Length; i++)
            values[i] = min + (float)random.NextDouble() * (max - min);
        return values;
    }

    /// <summary>Dim <paramref name="d"/> of an operand broadcast to <paramref name="rank"/> dims (right-aligned; 1 where it has none).</summary>
    public static int Dim(int[] shape, int d, int rank) => d - (rank - shape.Length) is var i && i >= 0 ? shape[i] : 1;

    public static int Count(int[] shape) => shape.Aggregate(1, (x, y) => x * y);

    /// <summary>Where an output element at <paramref name="index"/> reads a broadcast operand of <paramref name="shape"/>.</summary>
    public static int BroadcastOffset(int[] shape, int[] index)
    {
        int offset = 0, shift = index.Length - shape.Length;
        for (int d = 0; d < shape.Length; d++)
            offset = offset * shape[d] + (shape[d] == 1 ? 0 : index[d + shift]);
        return offset;
    }

    public static float[] Pinned(int length) => GC.AllocateArray<float>(Math.Max(length, 1), pinned: true);

    /// <summary>‖actual − expected‖₂ / ‖expected‖₂ (absolute when the reference is all zeros).</summary>
    public static double RelativeL2(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = actual[i] - expected[i];
            diff += d * d;
            norm += expected[i] * expected[i];
        }
        return norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
    }

    public static double Erf(double x)
    {
        if (double.IsNaN(x))
            return x;
        double ax = Math.Abs(x);
        return ax < 2.5 ? ErfSeries(x) : Math.CopySign(1.0 - ErfcFraction(ax), x);
    }

    /// <summary>erfc for x ≥ 0 with full relative accuracy.</summary>
    public static double Erfc(double x) => x < 2.5 ? 1.0 - ErfSeries(x) : ErfcFraction(x);

    public static double Gelu(double x)
    {
        double z = x / Math.Sqrt(2.0);
        return 0.5 * x * (z < 0 ? Erfc(-z) : 1.0 + Erf(z));
    }

    // Maclaurin series: 2/√π Σ (-1)ⁿ x^(2n+1) / (n! (2n+1)).
    private static double ErfSeries(double x)
    {
        double sum = 0, term = x, x2 = x * x;
        for (int n = 0; n < 200; n++)
        {
            double add = term / (2 * n + 1);
            sum += add;
            if (Math.Abs(add) < 1e-17 * Math.Abs(sum))
                break;
            term *= -x2 / (n + 1);
        }
        return 2.0 / Math.Sqrt(Math.PI) * sum;
    }

    // Continued fraction erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), by Lentz's method.
    private static double ErfcFraction(double x)
    {
        if (double.IsPositiveInfinity(x))
            return 0;
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 500; n++)
        {
            double an = n / 2.0;
            d = x + an * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = x + an / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
                break;
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }
}
