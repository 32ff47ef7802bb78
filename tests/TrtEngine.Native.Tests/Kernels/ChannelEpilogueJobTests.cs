using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class ChannelEpilogueJobTests : IDisposable
{
    private readonly WorkerPool[] _pools = [new WorkerPool(1), new WorkerPool(2)];

    public void Dispose()
    {
        foreach (var pool in _pools)
            pool.Dispose();
    }

    private static readonly Activation[] Activations =
    [
        new(ActivationKind.Identity), new(ActivationKind.Relu), new(ActivationKind.Clip, 0f, 6f),
        new(ActivationKind.Gelu), new(ActivationKind.Tanh), new(ActivationKind.HardSwish),
    ];

    [Fact]
    public void MatchesReference()
    {
        var job = new ChannelEpilogueJob();
        int variant = 0;
        foreach (int batch in new[] { 1, 3 })
        {
            foreach (int planeSize in new[] { 1, 7, 8, 13, 1030, 3000, 70000 })
            {
                foreach (bool withBias in new[] { false, true })
                {
                    foreach (bool withResidual in new[] { false, true })
                    {
                        variant++;
                        int channels = planeSize > 5000 ? 2 : 5;
                        Check(job, batch, channels, planeSize, withBias, withResidual, Activations[variant % Activations.Length],
                            _pools[variant % 2], variant);
                    }
                }
            }
        }
    }

    private static void Check(ChannelEpilogueJob job, int batch, int channels, int planeSize, bool withBias, bool withResidual,
        Activation activation, WorkerPool pool, int seed)
    {
        int length = batch * channels * planeSize;
        var y = Reference.Random(length + 1, seed, -3f, 3f);
        var original = (float[])y.Clone();
        var bias = withBias ? Reference.Random(channels, seed + 1) : null;
        var residual = withResidual ? Reference.Random(length, seed + 2) : null;
        fixed (float* py = y, pb = bias, pr = residual)
            job.Run(py, batch, channels, planeSize, pb, pr, activation, pool);

        var expected = new double[length];
        for (int i = 0; i < length; i++)
        {
            double sum = (double)original[i] + (bias?[i / planeSize % channels] ?? 0) + (residual?[i] ?? 0);
            expected[i] = ActivationKernelsTests.Expected(activation, sum);
        }
        double error = Reference.RelativeL2(y.AsSpan(0, length), expected);
        Assert.True(error <= 1e-6, $"batch {batch} planeSize {planeSize} bias={withBias} residual={withResidual} {activation.Kind}: {error}");
        Assert.Equal(original[length], y[length]);
    }
}
