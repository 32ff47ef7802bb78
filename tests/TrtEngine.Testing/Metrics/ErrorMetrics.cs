namespace TrtEngine.Testing.Metrics;

/// <summary>How far a result is from a reference.</summary>
public static class ErrorMetrics
{
    /// <summary>‖actual − expected‖₂ / ‖expected‖₂, in double precision.</summary>
    public static double RelativeL2(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length) throw new ArgumentException($"Lengths differ: {actual.Length} vs {expected.Length}.");
        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
        }
        return norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
    }

    /// <summary>Seeded uniform values in [-1, 1): fresh random inputs, never zeros.</summary>
    public static float[] RandomValues(int seed, long count)
    {
        var random = new Random(seed);
        var data = new float[count];
        for (long i = 0; i < count; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }
}
