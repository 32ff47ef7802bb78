using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

public unsafe class SoftmaxKernelsTests
{
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
            SoftmaxKernels.Run(px, py, outer, axis, inner);
            SoftmaxKernels.Run(pi, pi, outer, axis, inner);
        }
        var expected = new double[total];
        for (int o = 0; o < outer; o++)
        {
            for (int j = 0; j < inner; j++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int a = 0; a < axis; a++)
                    max = Math.Max(max, x[(o * axis + a) * inner + j]);
                for (int a = 0; a < axis; a++)
                    sum += Math.Exp(x[(o * axis + a) * inner + j] - max);
                for (int a = 0; a < axis; a++)
                    expected[(o * axis + a) * inner + j] = Math.Exp(x[(o * axis + a) * inner + j] - max) / sum;
            }
        }
        Assert.True(Reference.RelativeL2(y.AsSpan(0, total), expected) <= 1e-6);
        Assert.Equal(y.AsSpan(0, total).ToArray(), inPlace.AsSpan(0, total).ToArray());
    }
}
