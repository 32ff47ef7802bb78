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

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 9, 7)]          // channels that fill no vector
    [InlineData(1, 12544, 32)]     // EfficientNet-B0's first block: many chunks of pixels
    [InlineData(3, 49, 1152)]      // its last: a chunk of 7 pixels, 18 blocks of 64 channels
    [InlineData(2, 300, 100)]      // 64 + 32 + 4 channels: each vector width and the scalar tail
    [InlineData(1, 0, 16)]         // no pixels: average 0, max -∞
    public void Channels_last_sums_each_channel_in_pixel_order(int batch, int pixels, int channels)
    {
        // The float sum (and max) in pixel order, exactly: the blocks and chunks change which registers hold a
        // channel's running value, never the order values meet it in.
        var x = Reference.Random(Math.Max(1, batch * pixels * channels), seed: pixels + channels, -3f, 5f);
        foreach (var kind in new[] { PoolKind.Max, PoolKind.Average })
        {
            if (kind == PoolKind.Average && x.Length > 10) x[x.Length / 3] = float.NaN; // a sum carries it
            var y = Reference.Pinned(batch * channels);
            fixed (float* px = x, py = y)
                GlobalPoolKernels.ChannelsLast(kind, px, py, batch, pixels, channels, 0, channels);
            for (int n = 0; n < batch; n++)
                for (int c = 0; c < channels; c++)
                {
                    float acc = kind == PoolKind.Max ? float.NegativeInfinity : 0f;
                    for (int p = 0; p < pixels; p++)
                    {
                        float v = x[((long)n * pixels + p) * channels + c];
                        acc = kind == PoolKind.Average ? acc + v : float.IsNaN(v) || v > acc ? v : acc;
                    }
                    if (kind == PoolKind.Average) acc *= pixels == 0 ? 0f : 1f / pixels;
                    Assert.Equal(acc, y[n * channels + c]);
                }
        }
    }
}
