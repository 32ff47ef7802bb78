using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class FoldBatchNormTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(37)]
    [InlineData(1000)]
    public void Vector_channels_round_exactly_as_the_scalar_formula(int n)
    {
        // Variances down to zero, where ε decides; a NaN and an infinity travel as IEEE arithmetic says.
        var scale = Reference.Random(n, seed: n, -2f, 2f);
        var variance = Reference.Random(n, seed: n + 1, 0f, 3f);
        var bias = Reference.Random(n, seed: n + 2);
        var shift = Reference.Random(n, seed: n + 3);
        var mean = Reference.Random(n, seed: n + 4);
        variance[0] = 0f;
        if (n > 2) (scale[1], mean[2]) = (float.NaN, float.PositiveInfinity);
        const float epsilon = 1e-5f;
        var factors = Reference.Pinned(n);
        var folded = Reference.Pinned(n);
        var foldedNoBias = Reference.Pinned(n);
        fixed (float* s = scale, v = variance, b = bias, sh = shift, m = mean, f = factors, d = folded, d0 = foldedNoBias)
        {
            PackingKernels.FoldBatchNorm(s, v, epsilon, n, f, b, sh, m, d);
            PackingKernels.FoldBatchNorm(s, v, epsilon, n, null, null, sh, m, d0);
        }
        for (int o = 0; o < n; o++)
        {
            double factor = scale[o] / Math.Sqrt(variance[o] + (double)epsilon);
            Assert.Equal(BitConverter.SingleToInt32Bits((float)factor), BitConverter.SingleToInt32Bits(factors[o]));
            Assert.Equal(BitConverter.SingleToInt32Bits((float)((bias[o] - (double)mean[o]) * factor + shift[o])), BitConverter.SingleToInt32Bits(folded[o]));
            Assert.Equal(BitConverter.SingleToInt32Bits((float)((0 - (double)mean[o]) * factor + shift[o])), BitConverter.SingleToInt32Bits(foldedNoBias[o]));
        }
    }
}
