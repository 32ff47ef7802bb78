using System.Diagnostics;
using System.Globalization;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Builder;

/// <summary>Times every candidate GEMM tactic for a layer at its opt shape on this machine and keeps the fastest.</summary>
internal sealed unsafe class TacticSelector(BuilderConfig config, WorkerPool pool, HardwareInfo hardware)
{
    public (GemmTactic Tactic, double Microseconds, bool Timed) Choose(GemmLayer gemm, int m, CancellationToken cancel)
    {
        if (config.OptimizationLevel == 0) return (GemmKernels.Heuristic(m, gemm.N, gemm.K), 0, false);
        string signature = string.Create(CultureInfo.InvariantCulture,
            $"gemm m={m} k={gemm.K} n={gemm.N} transA={gemm.TransA} bias={!gemm.Bias.IsNone} act={gemm.Activation.Kind} isa={hardware.InstructionSet} threads={hardware.Threads}");
        var cache = config.TimingCache;
        if (cache is not null && cache.TryGet(signature, out string name, out double cached))
        {
            var known = GemmKernels.Tactics.FirstOrDefault(t => t.Name == name);
            if (known.Name == name) return (known, cached, false);
        }

        var random = new Random(12345);
        float[] a = RandomPinned(random, (long)m * gemm.K);
        float[] b = RandomPinned(random, (long)gemm.K * gemm.N);
        float[] bias = RandomPinned(random, gemm.N);
        float[] y = GC.AllocateUninitializedArray<float>(checked(m * gemm.N), pinned: true);
        var job = new GemmJob();
        GemmTactic best = default;
        double bestTime = double.MaxValue;
        foreach (var tactic in GemmKernels.Tactics)
        {
            cancel.ThrowIfCancellationRequested();
            float[] packed = GC.AllocateUninitializedArray<float>(GemmKernels.PackedLength(gemm.K, gemm.N, tactic), pinned: true);
            float* pb = ExecutionFrame.AddressOf(b), pp = ExecutionFrame.AddressOf(packed), pa = ExecutionFrame.AddressOf(a);
            float* py = ExecutionFrame.AddressOf(y), pbias = gemm.Bias.IsNone ? null : ExecutionFrame.AddressOf(bias);
            GemmKernels.PackB(pb, gemm.K, gemm.N, false, 1f, tactic, pp);
            double time = Measure(() => job.Run(tactic, pa, m, gemm.K, gemm.TransA, pp, gemm.N, pbias, gemm.Activation, py, pool));
            if (time < bestTime) (best, bestTime) = (tactic, time);
        }
        cache?.Set(signature, best.Name, bestTime);
        return (best, bestTime, true);
    }

    /// <summary>Best of several timed runs after a warm-up; more runs and a longer minimum at higher levels.</summary>
    private double Measure(Action run)
    {
        run();
        int level = config.OptimizationLevel;
        int runs = 2 + 2 * level;
        double minimumTotal = 0.5e-3 * level;
        double best = double.MaxValue, total = 0;
        for (int i = 0; i < runs || total < minimumTotal; i++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            best = Math.Min(best, us);
            total += us * 1e-6;
            if (i > 1000) break;
        }
        return best;
    }

    private static float[] RandomPinned(Random random, long n)
    {
        var data = GC.AllocateUninitializedArray<float>(checked((int)Math.Max(1, n)), pinned: true);
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }
}
