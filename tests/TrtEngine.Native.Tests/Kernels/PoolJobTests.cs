using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class PoolJobTests : IDisposable
{
    private readonly WorkerPool[] _pools = [new WorkerPool(1), new WorkerPool(2)];

    public void Dispose()
    {
        foreach (var pool in _pools)
            pool.Dispose();
    }

    [Theory]
    [InlineData(PoolKind.Max, false)]
    [InlineData(PoolKind.Average, false)]
    [InlineData(PoolKind.Average, true)]
    public void RandomGeometriesMatchReference(PoolKind kind, bool countIncludePad)
    {
        var job = new PoolJob();
        int variant = 0;
        foreach (var w in WindowCases.Random(seed: 23 + (int)kind, count: 400))
            Check(job, kind, countIncludePad, w, _pools[++variant % 2], variant);
    }

    [Fact]
    public void SqueezeNetMaxPoolWithCeilMode()
    {
        // 3×3 stride 2, no padding, ceil_mode: the last window of each row and column runs past the edge.
        var job = new PoolJob();
        foreach (int size in new[] { 13, 27, 56, 111, 113 })
        {
            int outSize = WindowCases.OutSize(size, 0, 0, 3, 2, ceil: true);
            var w = new Window2D(1, 24, size, size, outSize, outSize, 3, 3, 2, 2, 0, 0, 1, 1, 0, 0);
            foreach (var pool in _pools)
                Check(job, PoolKind.Max, false, w, pool, size);
        }
    }

    [Theory]
    [InlineData(2, 2, 0, false)]
    [InlineData(3, 1, 1, true)]
    [InlineData(3, 1, 1, false)]
    [InlineData(3, 2, 1, true)]
    public void AveragePoolCommonShapes(int kernel, int stride, int pad, bool countIncludePad)
    {
        var job = new PoolJob();
        foreach (int size in new[] { 7, 17, 35, 64 })
        {
            var w = WindowCases.Square(channels: 20, size, kernel, stride, pad);
            foreach (var pool in _pools)
                Check(job, PoolKind.Average, countIncludePad, w, pool, size);
        }
    }

    private static void Check(PoolJob job, PoolKind kind, bool countIncludePad, Window2D w, WorkerPool pool, int seed)
    {
        var x = Reference.Random(WindowCases.InputLength(w), seed, -5f, 5f);
        int length = WindowCases.OutputLength(w);
        var y = Reference.Random(length + 1, seed + 1);
        float guard = y[length];
        fixed (float* px = x, py = y)
            job.Run(kind, px, py, w, countIncludePad, pool);

        var expected = WindowCases.Pool(x, kind, countIncludePad, w);
        double error = Reference.RelativeL2(y.AsSpan(0, length), expected);
        Assert.True(error <= 1e-6, $"{kind} includePad={countIncludePad} {w}: error {error}");
        Assert.Equal(guard, y[length]);
    }
}
