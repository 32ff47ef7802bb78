using System.Diagnostics;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;
using Xunit.Abstractions;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>Prints GEMM throughput per tactic; no timing assertions (run with a detailed console logger to see it).</summary>
public sealed unsafe class GemmPerfTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Perf")]
    public void PrintThroughput()
    {
        using var pool1 = new WorkerPool(1);
        using var pool2 = new WorkerPool(2);
        (int M, int N, int K)[] shapes = [(1, 512, 784), (4, 512, 784), (64, 512, 784), (3136, 64, 576)];
        foreach (var (m, n, k) in shapes)
        {
            foreach (var pool in new[] { pool1, pool2 })
            {
                var line = $"m={m,5} n={n,4} k={k,4} threads={pool.ThreadCount}:";
                foreach (var tactic in GemmKernels.Tactics)
                    line += $" {tactic.Name}={Measure(tactic, m, n, k, pool):F1}";
                output.WriteLine(line + $"  (heuristic {GemmKernels.Heuristic(m, n, k).Name})");
            }
        }
    }

    private static double Measure(GemmTactic tactic, int m, int n, int k, WorkerPool pool)
    {
        var a = Reference.Random(m * k, seed: 1);
        var b = Reference.Random(k * n, seed: 2);
        var bias = Reference.Random(n, seed: 3);
        var packed = Reference.Pinned(GemmKernels.PackedLength(k, n, tactic));
        var y = Reference.Pinned(m * n);
        var job = new GemmJob();
        var relu = new Activation(ActivationKind.Relu);
        fixed (float* pa = a, pb = b, pbias = bias, pp = packed, py = y)
        {
            GemmKernels.PackB(pb, k, n, true, 1f, tactic, pp);
            // Time-boxed trials keep the whole print under a few seconds even in Debug builds.
            double flops = 2.0 * m * n * k;
            job.Run(tactic, pa, m, k, false, pp, n, pbias, relu, py, pool);
            double best = double.MaxValue;
            for (int trial = 0; trial < 4; trial++)
            {
                long start = Stopwatch.GetTimestamp();
                int reps = 0;
                do
                {
                    job.Run(tactic, pa, m, k, false, pp, n, pbias, relu, py, pool);
                    reps++;
                }
                while (Stopwatch.GetElapsedTime(start).TotalMilliseconds < 15);
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds / reps);
            }
            return flops / best / 1e9;
        }
    }
}
