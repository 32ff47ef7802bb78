using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class GlobalPoolKernelsTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(2, 49)]
    [InlineData(5, 169)]
    [InlineData(4, 1000)]
    public void MatchesReference(int planes, int planeSize)
    {
        var x = Reference.Random(planes * planeSize, seed: planeSize, -3f, 5f);
        var average = Reference.Pinned(planes);
        var max = Reference.Pinned(planes);
        fixed (float* px = x, pa = average, pm = max)
        {
            GlobalPoolKernels.Average(px, pa, planes, planeSize);
            GlobalPoolKernels.Max(px, pm, planes, planeSize);
        }

        var expectedAverage = new double[planes];
        var expectedMax = new double[planes];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.AsSpan(p * planeSize, planeSize).ToArray();
            expectedAverage[p] = plane.Average(v => (double)v);
            expectedMax[p] = plane.Max();
        }
        Assert.True(Reference.RelativeL2(average, expectedAverage) <= 1e-6);
        Assert.True(Reference.RelativeL2(max, expectedMax) <= 1e-6);
    }
}
