using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class WeightRowsGemmJobTests : IDisposable
{
    private readonly WorkerPool[] _pools = [new WorkerPool(1), new WorkerPool(2), new WorkerPool(3)];

    public void Dispose()
    {
        foreach (var pool in _pools)
            pool.Dispose();
    }

    public static TheoryData<bool> Widths => new(false, true);

    [Theory]
    [MemberData(nameof(Widths))]
    public void DotProductsMatchReference(bool wide)
    {
        // Blocks of eight rows of W and a last partial block; depths with and without a tail past the last vector;
        // the last two large enough to be shared out between threads.
        (int M, int N, int K)[] sizes =
        [
            (1, 1, 1), (1, 10, 64), (1, 128, 64), (2, 17, 5), (3, 8, 16), (4, 33, 61), (1, 7, 8), (2, 96, 128),
            (1, 1000, 1280), (5, 70, 300),
        ];
        Activation[] activations = [new(ActivationKind.Identity), new(ActivationKind.Relu), new(ActivationKind.Sigmoid), new(ActivationKind.Clip, -0.3f, 0.4f)];
        int variant = 0;
        foreach (var (m, n, k) in sizes)
            foreach (bool withBias in new[] { false, true })
            {
                variant++;
                Check(m, n, k, withBias, activations[variant % activations.Length], _pools[variant % _pools.Length], wide);
            }
    }

    [Fact]
    public void EveryPoolGivesTheSameBits()
    {
        // Units split W's rows, never an output's sum, so the thread count cannot change a value.
        float[][] results = _pools.Select(pool => Check(3, 250, 700, true, new Activation(ActivationKind.Identity), pool, wide: true)).ToArray();
        Assert.All(results, r => Assert.Equal(results[0], r));
    }

    private static float[] Check(int m, int n, int k, bool withBias, Activation activation, WorkerPool pool, bool wide)
    {
        var a = Reference.Random(m * k, seed: m * 7 + k);
        var w = Reference.Random(n * k, seed: n * 11 + k);
        var bias = Reference.Random(n, seed: n);
        var y = Reference.Random(m * n + 1, seed: 5); // garbage that must be overwritten; the last float guards the end
        float guard = y[m * n];
        fixed (float* pa = a, pw = w, pbias = bias, py = y)
            new WeightRowsGemmJob().Run(pa, m, k, pw, n, withBias ? pbias : null, activation, py, pool, wide);

        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = withBias ? bias[j] : 0;
                for (int p = 0; p < k; p++) sum += (double)a[i * k + p] * w[j * k + p];
                expected[i * n + j] = ActivationKernelsTests.Expected(activation, sum);
            }
        double error = Reference.RelativeL2(y.AsSpan(0, m * n), expected);
        Assert.True(error <= 1e-5, $"m={m} n={n} k={k} bias={withBias} {activation.Kind} wide={wide} threads={pool.ThreadCount}: {error:E2}");
        Assert.Equal(guard, y[m * n]);
        return y;
    }
}
