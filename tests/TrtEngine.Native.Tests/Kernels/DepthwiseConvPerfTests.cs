using System.Diagnostics;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;
using Xunit.Abstractions;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>Prints depthwise 3×3 throughput on MobileNetV2 shapes; no timing assertions.</summary>
public sealed unsafe class DepthwiseConvPerfTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Perf")]
    public void PrintThroughput()
    {
        using var pool1 = new WorkerPool(1);
        using var pool2 = new WorkerPool(2);
        (int Channels, int Size, int Stride)[] shapes = [(144, 56, 1), (96, 112, 2), (576, 14, 2), (960, 7, 1)];
        foreach (var (channels, size, stride) in shapes)
        {
            var w = WindowCases.Square(channels, size, kernel: 3, stride, pad: 1);
            foreach (var pool in new[] { pool1, pool2 })
            {
                var (gflops, microseconds) = Measure(w, pool);
                output.WriteLine($"depthwise 3x3 1x{channels}x{size}x{size} stride {stride} threads={pool.ThreadCount}: " +
                    $"{gflops:F1} GFLOP/s ({microseconds:F0} us)");
            }
        }
    }

    private static (double GFlops, double Microseconds) Measure(Window2D w, WorkerPool pool)
    {
        var x = Reference.Random(WindowCases.InputLength(w), seed: 1);
        var weights = Reference.Random(w.Channels * 9, seed: 2);
        var bias = Reference.Random(w.Channels, seed: 3);
        var y = Reference.Pinned(WindowCases.OutputLength(w));
        var job = new DepthwiseConvJob();
        var relu6 = new Activation(ActivationKind.Clip, 0f, 6f);
        fixed (float* px = x, pw = weights, pb = bias, py = y)
        {
            job.Run(px, pw, pb, null, relu6, py, w, pool);
            double best = double.MaxValue;
            for (int trial = 0; trial < 5; trial++)
            {
                long start = Stopwatch.GetTimestamp();
                int reps = 0;
                do
                {
                    job.Run(px, pw, pb, null, relu6, py, w, pool);
                    reps++;
                }
                while (Stopwatch.GetElapsedTime(start).TotalMilliseconds < 20);
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds / reps);
            }
            return (2.0 * 9 * WindowCases.OutputLength(w) / best / 1e9, best * 1e6);
        }
    }
}
