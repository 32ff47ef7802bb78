using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>
/// The channels-last depthwise kernel against the double-precision NCHW reference: its blocks of pixels (inside the
/// row, with the 3-column shared loads, or at the edges where columns are checked and fewer pixels remain), the 3×3 row
/// kernel of long rows, its 512-, 256-bit and one-lane channel groups, bias, residual and the activations it applies in
/// registers or per row.
/// </summary>
public sealed unsafe class ChannelsLastDepthwiseTests : IDisposable
{
    private readonly WorkerPool[] _pools = [new WorkerPool(1), new WorkerPool(2)];

    public void Dispose()
    {
        foreach (var pool in _pools)
            pool.Dispose();
    }

    [Fact]
    public void Random_geometries_match_the_reference()
    {
        // Up to 41 channels: a 512-bit group, 256-bit groups and single lanes in one block.
        int variant = 0;
        foreach (var w in WindowCases.Random(seed: 23, count: 300, maxChannels: 41))
        {
            variant++;
            Check(w, withBias: variant % 2 == 0, withResidual: variant % 3 == 0, WindowCases.Activations[variant % WindowCases.Activations.Length], _pools[variant % 2], variant);
        }
    }

    [Theory]
    [InlineData(3, 1, 7, 960)]
    [InlineData(3, 1, 14, 384)]
    [InlineData(3, 2, 14, 576)]
    [InlineData(3, 1, 28, 40)]
    [InlineData(3, 2, 57, 24)]
    [InlineData(5, 1, 14, 48)]
    [InlineData(5, 2, 15, 24)]
    [InlineData(3, 1, 9, 8)]
    [InlineData(3, 1, 6, 16)]
    [InlineData(3, 1, 56, 24)]
    [InlineData(3, 2, 112, 8)]
    public void Network_shapes_match_the_reference(int kernel, int stride, int size, int channels)
    {
        // Widths of 4k + 1..3 leave partial blocks at the right edge; 6 and 9 leave no inside block with 3 columns shared;
        // 56 and 112 run the 3×3 row kernel between the edge blocks, with 24 channels in a 512- and a 256-bit group.
        var w = WindowCases.Square(channels, size, kernel, stride, pad: kernel / 2, batch: 2);
        foreach (var pool in _pools)
        {
            Check(w, withBias: true, withResidual: false, new Activation(ActivationKind.Clip, 0f, 6f), pool, size);
            Check(w, withBias: false, withResidual: true, new Activation(ActivationKind.Relu), pool, size + 1);
            Check(w, withBias: true, withResidual: true, new Activation(ActivationKind.HardSwish), pool, size + 2);
        }
    }

    private static void Check(Window2D w, bool withBias, bool withResidual, Activation activation, WorkerPool pool, int seed)
    {
        int c = w.Channels, taps = w.KernelH * w.KernelW;
        var x = Reference.Random(WindowCases.InputLength(w), seed);
        var weights = Reference.Random(c * taps, seed + 1);
        var bias = withBias ? Reference.Random(c, seed + 2) : null;
        int length = WindowCases.OutputLength(w);
        var residual = withResidual ? Reference.Random(length, seed + 3) : null;
        var expected = WindowCases.Depthwise(x, weights, bias, residual, activation, w);

        // The kernel's layouts: x, residual and y NHWC, weights [taps, channels].
        var xLast = ToChannelsLast(x, w.Batch, c, w.InH * w.InW);
        var residualLast = residual is null ? null : ToChannelsLast(residual, w.Batch, c, w.OutH * w.OutW);
        var weightsLast = Reference.Pinned(c * taps);
        for (int ch = 0; ch < c; ch++)
            for (int t = 0; t < taps; t++)
                weightsLast[t * c + ch] = weights[ch * taps + t];
        var y = Reference.Random(length + 1, seed + 4); // garbage to overwrite; the last float guards the end
        float guard = y[length];
        fixed (float* px = xLast, pw = weightsLast, pb = bias, pr = residualLast, py = y)
            new ChannelsLastWindowJob().Run(WindowOp.Depthwise, px, pw, pb, pr, activation, false, py, w, pool);

        var actual = FromChannelsLast(y, w.Batch, c, w.OutH * w.OutW);
        double error = Reference.RelativeL2(actual, expected);
        Assert.True(error <= 1e-6, $"{w} bias={withBias} residual={withResidual} {activation.Kind}: error {error}");
        Assert.Equal(guard, y[length]);
    }

    private static float[] ToChannelsLast(float[] nchw, int batch, int channels, int pixels)
    {
        var nhwc = Reference.Pinned(batch * channels * pixels);
        for (int n = 0; n < batch; n++)
            for (int ch = 0; ch < channels; ch++)
                for (int p = 0; p < pixels; p++)
                    nhwc[((long)n * pixels + p) * channels + ch] = nchw[((long)n * channels + ch) * pixels + p];
        return nhwc;
    }

    private static float[] FromChannelsLast(float[] nhwc, int batch, int channels, int pixels)
    {
        var nchw = new float[batch * channels * pixels];
        for (int n = 0; n < batch; n++)
            for (int ch = 0; ch < channels; ch++)
                for (int p = 0; p < pixels; p++)
                    nchw[((long)n * channels + ch) * pixels + p] = nhwc[((long)n * pixels + p) * channels + ch];
        return nchw;
    }
}
