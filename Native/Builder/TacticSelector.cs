using System.Diagnostics;
using System.Globalization;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Times every candidate for a layer at its opt shape on this machine and keeps the fastest: the GEMM tactics of a
/// GEMM, and for a convolution every algorithm that applies (im2col/1×1 GEMM, Winograd F(4×4), F(3×3) and F(2×2)) with every
/// GEMM tactic.
/// A timing cache entry with the same signature skips the timing (a layer like one timed earlier in the same build too);
/// level 0 and a forced tactic take the heuristics.
/// </summary>
internal sealed unsafe class TacticSelector(BuilderConfig config, WorkerPool pool, HardwareInfo hardware)
{
    // Without a timing cache, layers of one build that share a signature (a network's repeated blocks) are still timed
    // once, and take the same tactic.
    private readonly TimingCache _timings = config.TimingCache ?? new TimingCache();

    public (GemmTactic Tactic, double Microseconds, bool Timed) Choose(GemmLayer gemm, int m, CancellationToken cancel)
    {
        if (Forced() is { } forced) return (forced, 0, false);
        if (config.OptimizationLevel == 0) return (GemmKernels.Heuristic(m, gemm.N, gemm.K), 0, false);
        string signature = string.Create(CultureInfo.InvariantCulture,
            $"gemm m={m} k={gemm.K} n={gemm.N} transA={gemm.TransA} bias={!gemm.Bias.IsNone} act={gemm.Activation.Kind}");
        var random = new Random(12345);
        float[] a = RandomPinned(random, (long)m * gemm.K);
        // The values do not matter to the timing: random ones of the longest packed length serve every tactic.
        var tactics = SupportedTactics.Where(t => !t.Narrow || gemm.N <= 8).ToArray(); // where wider panels would be half padding
        float[] packed = RandomPinned(random, tactics.Max(t => GemmKernels.PackedLength(gemm.K, gemm.N, t)));
        float[] bias = RandomPinned(random, gemm.N);
        float[] y = GC.AllocateUninitializedArray<float>(checked(m * gemm.N), pinned: true);
        var job = new GemmJob();
        // Pointers are taken inside the action, so the closure keeps every array alive while it is timed.
        return Choose(signature, tactics, t => t.Name, tactic => () => job.Run(tactic, ExecutionFrame.AddressOf(a), m, gemm.K, gemm.TransA,
            ExecutionFrame.AddressOf(packed), gemm.N, gemm.Bias.IsNone ? null : ExecutionFrame.AddressOf(bias), gemm.Activation, ExecutionFrame.AddressOf(y), pool), cancel);
    }

    /// <summary>
    /// A convolution with a GEMM: the layer itself runs on random data at its opt shapes, once per algorithm and tactic.
    /// Its algorithm is <see cref="BuilderConfig.ForceConvAlgorithm"/> where that applies to it.
    /// </summary>
    public (ConvAlgorithm Algorithm, GemmTactic Tactic, double Microseconds, bool Timed) Choose(ConvLayer conv, int[] x, int[] w, int[] y, CancellationToken cancel)
    {
        var algorithms = conv.Candidates(w);
        if (config.ForceConvAlgorithm is { } only && algorithms.Contains(only)) algorithms = [only];
        if (config.ForceTactic is not null || config.OptimizationLevel == 0)
        {
            conv.Algorithm = algorithms.Count == 1 ? algorithms[0] : conv.HeuristicAlgorithm(x, w);
            return (conv.Algorithm, Forced() is { } forced && conv.Fits(forced, w) ? forced : conv.HeuristicTactic(x, w), 0, false);
        }
        string signature = string.Create(CultureInfo.InvariantCulture,
            $"conv x={string.Join('x', x)} w={string.Join('x', w)} s={conv.Strides[0]}x{conv.Strides[1]} d={conv.Dilations[0]}x{conv.Dilations[1]} p={string.Join(',', conv.Pads)} {conv.AutoPad} g={conv.Groups} res={!conv.Residual.IsNone}{(conv.ChannelScale.IsNone ? "" : " scaled")} act={conv.Activation.Kind}{(conv.ChannelsLast ? " nhwc" : "")} algorithms={string.Join(',', algorithms)}");
        // Narrow tactics are timed only where no wider one fits (groups of 8) or a wider panel would be half padding or more
        // (8 columns: a group's outputs channels-last, the output pixels NCHW): elsewhere they would only lengthen the build.
        var fitting = SupportedTactics.Where(t => conv.Fits(t, w)).ToArray();
        int columns = conv.ChannelsLast ? w[0] / conv.Groups : y[2] * y[3];
        var timed = fitting.Any(t => !t.Narrow) && columns > 8 ? fitting.Where(t => !t.Narrow).ToArray() : fitting;
        var candidates = algorithms.SelectMany(a => timed.Select(t => (Algorithm: a, Tactic: t))).ToArray();
        var random = new Random(12345);
        var frame = new ExecutionFrame(pool, 4, 2);
        ValueRef X = ValueRef.Tensor(0), Out = ValueRef.Tensor(1), Residual = ValueRef.Tensor(2), Scale = ValueRef.Tensor(3), W = ValueRef.Weight(0), Bias = ValueRef.Weight(1);
        // A channels-last weight is packed per algorithm and tactic: random values of the longest packed length serve every candidate.
        long WeightLength((ConvAlgorithm Algorithm, GemmTactic Tactic) c) => !conv.ChannelsLast ? Shapes.ElementCount(w)
            : ConvWeightPacking.PackedLength(ConvLayer.PackingOf(c.Algorithm), w[0], w[1] * w[2] * w[3], w[2] * w[3], c.Tactic.Id);
        long weightLength = candidates.Max(WeightLength);
        float[] input = RandomPinned(random, Shapes.ElementCount(x)), weights = RandomPinned(random, weightLength), bias = RandomPinned(random, w[0]);
        float[] output = RandomPinned(random, Shapes.ElementCount(y)), residual = RandomPinned(random, Shapes.ElementCount(y));
        float[] scale = RandomPinned(random, (long)x[0] * x[1]);
        frame.TensorShapes[0] = x;
        frame.TensorShapes[1] = frame.TensorShapes[2] = y;
        frame.TensorShapes[3] = [x[0], x[1], 1, 1];
        frame.WeightShapes[0] = w;
        frame.WeightShapes[1] = [w[0]];
        frame.TensorPointers[0] = ExecutionFrame.AddressOf(input);
        frame.TensorPointers[1] = ExecutionFrame.AddressOf(output);
        frame.TensorPointers[2] = ExecutionFrame.AddressOf(residual);
        frame.TensorPointers[3] = ExecutionFrame.AddressOf(scale);
        frame.WeightPointers[0] = ExecutionFrame.AddressOf(weights);
        frame.WeightPointers[1] = ExecutionFrame.AddressOf(bias);
        var probe = (ConvLayer)conv.Clone();
        probe.Inputs = [X, W, Bias, conv.Residual.IsNone ? ValueRef.None : Residual, conv.ChannelScale.IsNone ? ValueRef.None : Scale];
        probe.Output = Out.Index;
        var state = probe.CreateState(frame);
        // One workspace of the longest length any candidate needs; each run sets the probe to its candidate, so runs of
        // different candidates can take turns.
        long workspaceLength = candidates.Max(c =>
        {
            (probe.Algorithm, probe.TacticId) = (c.Algorithm, c.Tactic.Id);
            return probe.WorkspaceLength(frame);
        });
        float[] workspace = GC.AllocateUninitializedArray<float>(checked((int)Math.Max(1, workspaceLength)), pinned: true);
        Action Prepare((ConvAlgorithm Algorithm, GemmTactic Tactic) candidate) => () =>
        {
            (probe.Algorithm, probe.TacticId) = (candidate.Algorithm, candidate.Tactic.Id);
            frame.Workspace = ExecutionFrame.AddressOf(workspace);
            probe.Execute(frame, state);
        };
        // Levels 1–2 screen the algorithms, each with its heuristic tactic, then time every tactic of the faster one only.
        IReadOnlyList<(ConvAlgorithm Algorithm, GemmTactic Tactic)> Shortlist()
        {
            if (algorithms.Count == 1 || config.OptimizationLevel > 2) return candidates;
            var screened = algorithms.Select(a =>
            {
                probe.Algorithm = a;
                return (Algorithm: a, Tactic: probe.HeuristicTactic(x, w));
            }).ToArray();
            double[] times = Measure(screened.Select(Prepare).ToArray(), cancel);
            var fastest = screened[Fastest(screened, times, WeightLength)].Algorithm;
            return candidates.Where(c => c.Algorithm == fastest).ToArray();
        }
        var choice = Choose(signature, candidates, c => $"{c.Algorithm}:{c.Tactic.Name}", Prepare, cancel, Shortlist, WeightLength);
        // The frame holds only raw pointers: the arrays must outlive the timing.
        GC.KeepAlive(input);
        GC.KeepAlive(weights);
        GC.KeepAlive(bias);
        GC.KeepAlive(output);
        GC.KeepAlive(residual);
        GC.KeepAlive(scale);
        GC.KeepAlive(workspace);
        return (choice.Choice.Algorithm, choice.Choice.Tactic, choice.Microseconds, choice.Timed);
    }

    /// <summary>
    /// Whether an inverted-residual chain runs faster as one fused layer than as its convolutions (with the tactics
    /// they were tuned to): both run on random data at the opt shapes and the faster is kept. Untimed (level 0, a forced
    /// tactic) the layer's rule decides; <see cref="BuilderConfig.FuseInvertedResiduals"/> decides for tests.
    /// </summary>
    /// <param name="inputShapes">The shape of each of the fused layer's inputs at the opt shapes (empty where it has none).</param>
    public (bool Fuse, double Microseconds, bool Timed) Choose(FusedInvertedResidualLayer fused, int[][] inputShapes, CancellationToken cancel)
    {
        if (config.FuseInvertedResiduals is { } forced) return (forced, 0, false);
        int[] x = inputShapes[0];
        int[][] weightShapes = inputShapes[1..7];
        int[] expanded = fused.Expand.InferShape([x, weightShapes[0], weightShapes[1], [], []]);
        int[] depthwise = fused.Depthwise.InferShape([expanded, weightShapes[2], weightShapes[3], [], []]);
        int[] y = fused.Project?.InferShape([depthwise, weightShapes[4], weightShapes[5], inputShapes[7], []]) ?? depthwise;
        if (config.ForceTactic is not null || config.OptimizationLevel == 0) return (FusedInvertedResidualLayer.FusesByRule(expanded, hardware.Threads), 0, false);
        ConvLayer e = fused.Expand, d = fused.Depthwise;
        ConvLayer? p = fused.Project;
        string signature = string.Create(CultureInfo.InvariantCulture,
            $"inverted residual x={string.Join('x', x)}{(fused.Unfolds ? $" expand={e.KernelH}x{e.KernelW}/{e.Strides[0]} p={string.Join(',', e.Pads)} {e.AutoPad}" : "")} hidden={expanded[1]} out={y[1]} k={d.KernelH}x{d.KernelW} s={d.Strides[0]}x{d.Strides[1]} d={d.Dilations[0]}x{d.Dilations[1]} p={string.Join(',', d.Pads)} {d.AutoPad} res={!fused.Residual.IsNone} act={e.Activation.Kind},{d.Activation.Kind},{(p is null ? "none" : p.Activation.Kind)} tactics={GemmKernels.Tactics[e.TacticId].Name}{(p is null ? "" : "," + GemmKernels.Tactics[p.TacticId].Name)}");
        var random = new Random(12345);
        // Tensors: x, expanded, depthwise output, y, residual; weights: each convolution's packed weight and bias.
        int[][] tensorShapes = [x, expanded, depthwise, y, y];
        long[] weightLengths =
        [
            GemmKernels.PackedLength(x[1] * e.KernelH * e.KernelW, expanded[1], GemmKernels.Tactics[e.TacticId]), expanded[1],
            Shapes.ElementCount(weightShapes[2]), expanded[1],
            p is null ? 0 : GemmKernels.PackedLength(expanded[1], y[1], GemmKernels.Tactics[p.TacticId]), y[1],
        ];
        float[][] tensors = tensorShapes.Select(t => RandomPinned(random, Shapes.ElementCount(t))).ToArray();
        float[][] weights = weightLengths.Select(n => RandomPinned(random, n)).ToArray();
        var frame = new ExecutionFrame(pool, tensors.Length, weights.Length);
        for (int t = 0; t < tensors.Length; t++)
        {
            frame.TensorShapes[t] = tensorShapes[t];
            frame.TensorPointers[t] = ExecutionFrame.AddressOf(tensors[t]);
        }
        for (int w = 0; w < weights.Length; w++)
        {
            frame.WeightShapes[w] = weightShapes[w];
            frame.WeightPointers[w] = ExecutionFrame.AddressOf(weights[w]);
        }

        // The same layers reading the frame's slots, with none where the originals have none.
        ValueRef Slot(ValueRef original, ValueRef slot) => original.IsNone ? ValueRef.None : slot;
        Layer Probe(Layer layer, ValueRef[] inputs, int output)
        {
            var probe = layer.Clone();
            probe.Inputs = inputs.Select((v, i) => Slot(layer.Inputs[i], v)).ToArray();
            probe.Output = output;
            return probe;
        }
        ValueRef T(int i) => ValueRef.Tensor(i);
        ValueRef W(int i) => ValueRef.Weight(i);
        Layer[] separate = p is null
            ? [Probe(e, [T(0), W(0), W(1), ValueRef.None, ValueRef.None], 1), Probe(d, [T(1), W(2), W(3), ValueRef.None, ValueRef.None], 2)]
            :
            [
                Probe(e, [T(0), W(0), W(1), ValueRef.None, ValueRef.None], 1),
                Probe(d, [T(1), W(2), W(3), ValueRef.None, ValueRef.None], 2),
                Probe(p, [T(2), W(4), W(5), T(4), ValueRef.None], 3),
            ];
        Layer[] together = [Probe(fused, [T(0), W(0), W(1), W(2), W(3), W(4), W(5), T(4)], 3)];
        var states = separate.Concat(together).ToDictionary(l => l, l => l.CreateState(frame));
        long workspaceLength = states.Keys.Max(l => l.WorkspaceLength(frame));
        float[] workspace = GC.AllocateUninitializedArray<float>(checked((int)Math.Max(1, workspaceLength)), pinned: true);
        Action Prepare(bool fuse) => () =>
        {
            frame.Workspace = ExecutionFrame.AddressOf(workspace);
            foreach (var layer in fuse ? together : separate) layer.Execute(frame, states[layer]);
        };
        var choice = Choose(signature, [false, true], fuse => fuse ? "fused" : "separate", Prepare, cancel);
        // The frame holds only raw pointers: the arrays must outlive the timing.
        GC.KeepAlive(tensors);
        GC.KeepAlive(weights);
        GC.KeepAlive(workspace);
        return (choice.Choice, choice.Microseconds, choice.Timed);
    }

    private static readonly string KernelsVersion = typeof(TacticSelector).Assembly.GetName().Version?.ToString() ?? "0";

    private static GemmTactic[] SupportedTactics => GemmKernels.Tactics.Where(t => t.IsSupported).ToArray();


    /// <summary>The tactic <see cref="BuilderConfig.ForceTactic"/> names, or null.</summary>
    private GemmTactic? Forced()
    {
        if (config.ForceTactic is not { } forced) return null;
        var tactic = GemmKernels.Tactics.FirstOrDefault(t => t.Name == forced);
        return tactic.Name == forced ? tactic : throw new ArgumentException($"There is no GEMM tactic '{forced}'.");
    }

    /// <summary>
    /// The fastest candidate, from the timing cache (by its name) or timed now: all of them, or those
    /// <paramref name="shortlist"/> keeps.
    /// </summary>
    private (T Choice, double Microseconds, bool Timed) Choose<T>(string signature, IReadOnlyList<T> candidates, Func<T, string> name,
        Func<T, Action> prepare, CancellationToken cancel, Func<IReadOnlyList<T>>? shortlist = null, Func<T, long>? weightLength = null)
    {
        // Timings hold for the kernels that were timed: another version of them (or of this choice's rules) times afresh.
        signature += $" isa={hardware.InstructionSet} threads={hardware.Threads} version={KernelsVersion}";
        if (_timings.TryGet(signature, out string cachedName, out double cached))
            foreach (var candidate in candidates)
                if (name(candidate) == cachedName) return (candidate, cached, false);
        if (shortlist is not null) candidates = shortlist();
        double[] times = Measure(candidates.Select(prepare).ToArray(), cancel);
        int best = Fastest(candidates, times, weightLength);
        _timings.Set(signature, name(candidates[best]), times[best]);
        return (candidates[best], times[best], true);
    }

    /// <summary>Floats (1 MiB) a weight must reach before a lighter candidate may win in its place (<see cref="Fastest"/>).</summary>
    internal const long LighterWeightMinimumFloats = 1 << 18;

    /// <summary>
    /// The index of the fastest candidate, or of a candidate at most 15% slower with at most two thirds the weight of the
    /// heaviest candidate within those 15% (the fastest of those), where that weight is 1 MiB or more. Timed alone, a
    /// layer's weights stay in the caches from run to run; in a network whose weights exceed the caches they come from
    /// memory every time, which costs the heavier candidate more: ResNet-18's 512-channel 3×3 convolutions at 7×7, batch 1,
    /// timed alone 0.69–0.95 ms in Winograd F(4×4) (38 MB of weight) against 0.66–0.85 in F(2×2) (17 MB), ran at 1.15–1.27
    /// against 0.79–0.89 ms in the network. Two thirds lets F(2×2) (16/9 of the kernel) in against F(3×3) (25/9): with the
    /// three layers forced to one or the other, ResNet-18 ran 10.04 against 10.25 ms a call at batch 1 (median of 1,820
    /// calls taking turns) and 86.7 against 87.4 at batch 8, and refitted from safetensors 1.58× against 1.73× its file's
    /// read (97 against 125 MB of engine weights); a half had let F(2×2) in only where F(4×4) (36/9) timed within 15%, so a
    /// build whose timing put F(3×3) ahead kept the heavier, slower engine. F(3×3) against F(4×4) (25/36) stays out. Measured
    /// against the heaviest close candidate, not the fastest, so that a middle weight timing fastest does not shut out a light
    /// one the heavy one would have let in. Below 1 MiB (the L2 of current x86 cores) a weight costs little to read and to
    /// refit: SqueezeNet's 64-channel 3×3 layers at 55×55 (147 KiB in F(4×4)) took im2col when it timed within 15%, and ran
    /// at 286 µs against F(4×4)'s 219–241 in the network.
    /// </summary>
    internal static int Fastest<T>(IReadOnlyList<T> candidates, double[] times, Func<T, long>? weightLength)
    {
        int best = Array.IndexOf(times, times.Min());
        if (weightLength is null) return best;
        var close = Enumerable.Range(0, candidates.Count).Where(i => times[i] <= 1.15 * times[best]).ToArray();
        long heaviest = close.Max(i => weightLength(candidates[i]));
        if (heaviest < LighterWeightMinimumFloats) return best;
        // The fastest light one, which is the fastest itself where that is light.
        int choice = -1;
        foreach (int i in close)
            if (3 * weightLength(candidates[i]) <= 2 * heaviest && (choice < 0 || times[i] < times[choice]))
                choice = i;
        return choice < 0 ? best : choice;
    }

    /// <summary>
    /// The best of several timed runs of each candidate after a warm-up, the candidates taking turns run by run: a
    /// burst of load from elsewhere then falls on all of them, not on whichever was being timed. More runs and a longer
    /// minimum at higher levels.
    /// </summary>
    private double[] Measure(IReadOnlyList<Action> runs, CancellationToken cancel)
    {
        foreach (var run in runs) run();
        int level = config.OptimizationLevel;
        int rounds = 2 + 2 * level;
        double minimumTotal = 0.5e-3 * level;
        var best = new double[runs.Count];
        var total = new double[runs.Count];
        Array.Fill(best, double.MaxValue);
        for (int round = 0; round < rounds || (total.Min() < minimumTotal && round <= 1000); round++)
        {
            cancel.ThrowIfCancellationRequested();
            for (int c = 0; c < runs.Count; c++)
            {
                long start = Stopwatch.GetTimestamp();
                runs[c]();
                double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                best[c] = Math.Min(best[c], us);
                total[c] += us * 1e-6;
            }
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
