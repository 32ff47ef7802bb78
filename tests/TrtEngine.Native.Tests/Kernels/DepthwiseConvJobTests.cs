using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class DepthwiseConvJobTests : IDisposable
{
    private readonly WorkerPool[] _pools = [new WorkerPool(1), new WorkerPool(2)];

    public void Dispose()
    {
        foreach (var pool in _pools)
            pool.Dispose();
    }

    [Fact]
    public void RandomGeometriesMatchReference()
    {
        var job = new DepthwiseConvJob();
        int variant = 0;
        foreach (var w in WindowCases.Random(seed: 11, count: 400))
        {
            variant++;
            Check(job, w, withBias: variant % 2 == 0, withResidual: variant % 3 == 0, WindowCases.Activations[variant % WindowCases.Activations.Length],
                _pools[variant % 2], variant);
        }
    }

    [Fact]
    public void Padded3x3GeometriesMatchReference()
    {
        // The zero-padded scratch path: 3×3 undilated, width stride 1 or 2, any height stride, pads and ceil mode,
        // widths spanning several 8-output blocks and tails.
        var job = new DepthwiseConvJob();
        var random = new Random(17);
        for (int variant = 1; variant <= 200;)
        {
            int sh = random.Next(1, 4), sw = random.Next(1, 3), inH = random.Next(1, 30), inW = random.Next(1, 45);
            int pt = random.Next(0, 3), pb = random.Next(0, 3), pl = random.Next(0, 3), pr = random.Next(0, 3);
            bool ceil = random.Next(2) == 1;
            int outH = WindowCases.OutSize(inH, pt, pb, 3, sh, ceil), outW = WindowCases.OutSize(inW, pl, pr, 3, sw, ceil);
            if (outH < 1 || outW < 1)
                continue;
            var w = new Window2D(random.Next(1, 3), random.Next(1, 6), inH, inW, outH, outW, 3, 3, sh, sw, pt, pl, 1, 1, pb, pr);
            Check(job, w, withBias: variant % 2 == 0, withResidual: variant % 3 == 0, WindowCases.Activations[variant % WindowCases.Activations.Length],
                _pools[variant % 2], variant);
            variant++;
        }
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(1, 14)]
    [InlineData(1, 28)]
    [InlineData(2, 7)]
    [InlineData(2, 14)]
    [InlineData(2, 56)]
    [InlineData(2, 113)]
    public void MobileNetShapesMatchReference(int stride, int size)
    {
        // Padding 1 on every side; with 24 channels the larger sizes also go parallel on the 2-thread pool.
        var job = new DepthwiseConvJob();
        var w = WindowCases.Square(channels: 24, size, kernel: 3, stride, pad: 1);
        foreach (var pool in _pools)
        {
            Check(job, w, withBias: true, withResidual: false, new Activation(ActivationKind.Clip, 0f, 6f), pool, size);
            Check(job, w, withBias: false, withResidual: true, Activation.Identity, pool, size + 1);
        }
    }

    [Fact]
    public void ParallelRunSplitsFewLargePlanes()
    {
        var w = WindowCases.Square(channels: 1, size: 300, kernel: 3, stride: 1, pad: 1);
        Check(new DepthwiseConvJob(), w, withBias: true, withResidual: true, new Activation(ActivationKind.Relu), _pools[1], 5);
    }

    private static void Check(DepthwiseConvJob job, Window2D w, bool withBias, bool withResidual, Activation activation,
        WorkerPool pool, int seed)
    {
        var x = Reference.Random(WindowCases.InputLength(w), seed);
        var weights = Reference.Random(w.Channels * w.KernelH * w.KernelW, seed + 1);
        var bias = withBias ? Reference.Random(w.Channels, seed + 2) : null;
        int length = WindowCases.OutputLength(w);
        var residual = withResidual ? Reference.Random(length, seed + 3) : null;
        var y = Reference.Random(length + 1, seed + 4); // garbage to overwrite; the last float guards the end
        float guard = y[length];
        fixed (float* px = x, pw = weights, pb = bias, pr = residual, py = y)
            job.Run(px, pw, pb, pr, activation, py, w, pool);

        var expected = WindowCases.Depthwise(x, weights, bias, residual, activation, w);
        double error = Reference.RelativeL2(y.AsSpan(0, length), expected);
        Assert.True(error <= 1e-6, $"{w} bias={withBias} residual={withResidual} {activation.Kind}: error {error}");
        Assert.Equal(guard, y[length]);
    }
}
