using System.Diagnostics;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Turns a network into an engine: fuses layers, drops dead ones, times tactics at the opt shapes, derives every
/// engine weight from the model weights through a recorded recipe, and packs the weights for the chosen kernels.
/// </summary>
public static class EngineBuilder
{
    public static Engine Build(NetworkDefinition network, BuilderConfig config, IProgress<BuildProgress>? progress = null,
                               Action<string>? log = null, CancellationToken cancel = default)
    {
        if (network.Outputs.Count == 0) throw new ArgumentException($"Network '{network.Name}' marks no outputs.");
        if (config.OptimizationLevel is < 0 or > 5) throw new ArgumentOutOfRangeException(nameof(config), config.OptimizationLevel, "The optimization level is 0 to 5.");
        var total = Stopwatch.StartNew();
        var hardware = HardwareInfo.Current(Math.Max(1, config.Threads));
        ShapeProfile[] profiles = ResolveProfiles(network, config);

        progress?.Report(new BuildProgress("Fusing layers", 0, 1, network.Name));
        var outputs = new HashSet<int>(network.Outputs);
        var folded = new HashSet<string>(network.FoldedWeights, StringComparer.Ordinal);
        var layers = GeluFusion.Run(network.Layers.Select(l => l.Clone()).ToList(), network, outputs, folded);
        layers = SiluFusion.Run(layers, outputs);
        layers = BatchNormFolding.Run(layers, outputs);
        // The network's own layers give its tensors' shapes at the probes, whatever the fusions make of them.
        layers = EpilogueFusion.Run(layers, network, outputs, new ShapeProbes(profiles, shapes => InferShapes(network, network.Tensors.ToList(), network.Layers.ToList(), shapes)));
        layers = ChannelShuffleFusion.Run(layers, network);
        layers = RemoveDeadLayers(layers, outputs);
        var tensorList = network.Tensors.ToList();
        if (config.ChannelsLast)
        {
            layers = ChannelsLastLayout.Run(layers, network, tensorList, outputs);
            layers = ConcatNormFusion.Run(layers, outputs);
            InPlaceConcat.Run(layers, outputs);
        }
        log?.Invoke($"{network.Layers.Count} network layers became {layers.Count} engine layers after fusion and layout.");

        int[][] optShapes = ProfileShapes(network, tensorList, layers, profiles, "opt", p => p.Opt);
        ProfileShapes(network, tensorList, layers, profiles, "min", p => p.Min); // the whole profile must be buildable
        // No tensor beyond what one buffer holds where the build times the layers (a layer can grow its input).
        for (int t = 0; t < optShapes.Length; t++)
            if (optShapes[t] is { } shape) CheckSize($"Tensor '{tensorList[t].Name}'", shape);
        if (config.ChannelsLast && config.FoldChannelScales != false)
        {
            var current = layers; // the layers as laid out: their reformats made tensors the network does not have
            layers = ChannelScaleFolding.Run(layers, network, tensorList, outputs, conv => config.FoldChannelScales == true || ChannelScaleFolding.Pays(optShapes[conv.Output]),
                new ShapeProbes(profiles, shapes => InferShapes(network, tensorList, current, shapes)));
        }

        var pool = hardware.Threads == WorkerPool.Shared.ThreadCount ? WorkerPool.Shared : new WorkerPool(hardware.Threads);
        try
        {
            var selector = new TacticSelector(config, pool, hardware);
            SelectTactics(network, layers, optShapes, selector, progress, log, cancel);

            progress?.Report(new BuildProgress("Packing weights", 0, 1, network.Name));
            var (weights, modelWeights, foldedOps) = PlanWeights(network, layers, folded);
            if (config.ChannelsLast)
            {
                layers = InvertedResidualFusion.Run(layers, outputs, fused => ChooseFusion(fused, weights, optShapes, selector, log, cancel));
                layers = ConvPoolFusion.Run(layers, outputs, conv => config.FuseConvPools ?? FusedConvPoolLayer.FusesByRule(optShapes[conv.Output]), log);
                if (config.ReadPlanarInputs) layers = PlanarInputFusion.Run(layers, outputs, weights, log);
            }
            var (tensors, inputs, outputIds) = CompactTensors(network, tensorList, layers);
            EnginePlan Plan(bool moderateGemmsShared) => new()
            {
                Name = network.Name, Tensors = tensors, Inputs = inputs, InputTypes = [.. network.InputTypes], Profiles = profiles, Outputs = outputIds, OutputTypes = [.. network.OutputTypes], Layers = [.. layers],
                Weights = weights, ModelWeights = modelWeights, Hardware = hardware, OptimizationLevel = config.OptimizationLevel,
                FoldedOps = foldedOps, StructureDigest = NetworkStructure.Digest(network), ModerateGemmsShared = moderateGemmsShared,
            };
            var plan = Plan(moderateGemmsShared: config.ShareModerateGemms ?? true);
            var byName = network.Weights.ToDictionary(w => w.Name, w => w.Values, StringComparer.Ordinal);
            var buffers = new float[weights.Length][];
            cancel.ThrowIfCancellationRequested();
            RecipeEvaluation.Run(weights, Enumerable.Range(0, weights.Length).ToList(), Array.ConvertAll(weights, w => Array.ConvertAll(w.Recipe.Sources, s => byName[s])), buffers,
                                 new bool[weights.Length], pool);
            // The engine keeps the model weights it was built from: a partial refit re-derives fused weights from them.
            var used = modelWeights.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
            var values = network.Weights.Where(w => used.Contains(w.Name)).ToDictionary(w => w.Name, w => w.Values, StringComparer.Ordinal);
            var weightSet = new WeightSet(buffers);
            if (config.ShareModerateGemms is null && config.OptimizationLevel > 0 && hardware.Threads > 1
                && !ModerateGemmSharing.Faster(new Engine(plan, new Engine.State(weightSet, ModelValues.From(plan.ModelWeightIndex, values))), config.OptimizationLevel, log, cancel))
                plan = Plan(moderateGemmsShared: false);
            log?.Invoke($"Built '{network.Name}' in {total.Elapsed.TotalMilliseconds:F0} ms: {layers.Count} layers, {weights.Length} engine weights from {modelWeights.Length} model weights.");
            return new Engine(plan, weightSet, values);
        }
        finally
        {
            if (!ReferenceEquals(pool, WorkerPool.Shared)) pool.Dispose();
        }
    }

    /// <summary>Each input's profile, checked against the input (rank, fixed dimensions, min ≤ opt ≤ max).</summary>
    internal static ShapeProfile[] ResolveProfiles(NetworkDefinition network, BuilderConfig config)
    {
        foreach (string name in config.Profiles.Keys)
            if (!network.Inputs.Any(i => network.Tensors[i].Name == name))
                throw new ArgumentException($"A shape was given for '{name}', which is not an input of '{network.Name}'. Its inputs: {string.Join(", ", network.Inputs.Select(i => network.Tensors[i].Name))}.");
        return network.Inputs.Select(i =>
        {
            var t = network.Tensors[i];
            if (config.Profiles.TryGetValue(t.Name, out var p))
            {
                if (p.Min.Length != t.Dims.Length || p.Opt.Length != t.Dims.Length || p.Max.Length != t.Dims.Length)
                    throw new ShapeException($"The shapes given for input '{t.Name}' ({p}) do not have its rank {t.Dims.Length} ({Shapes.Format(t.Dims)}).");
                // A fixed dimension first: a range the user gave in part is filled from the model's, and the conflict
                // is the dimension, not the order of bounds the user never wrote.
                for (int d = 0; d < t.Dims.Length; d++)
                    if (t.Dims[d] >= 0 && (p.Min[d] != t.Dims[d] || p.Opt[d] != t.Dims[d] || p.Max[d] != t.Dims[d]))
                        throw new ShapeException($"The shapes given for input '{t.Name}' ({p}) change dimension {d}, which the model fixes at {t.Dims[d]}.");
                for (int d = 0; d < t.Dims.Length; d++)
                    if (p.Min[d] < 0 || p.Min[d] > p.Opt[d] || p.Opt[d] > p.Max[d])
                        throw new ShapeException($"The shapes given for input '{t.Name}' ({p}) need min ≤ opt ≤ max in every dimension.");
                CheckSize($"Input '{t.Name}'", p.Opt);
                return p;
            }
            return ShapeProfile.Default(t.Dims);
        }).ToArray();
    }

    /// <summary>The most bytes one tensor may take: buffers are indexed by int, in bytes in places.</summary>
    private const long MaxTensorBytes = int.MaxValue;

    /// <summary>
    /// Refuses a tensor beyond <see cref="MaxTensorBytes"/> at the profile's opt shape, which the build times and so
    /// allocates, before anything is made for it: an opt batch of 20 million rows took 5–17 GB of timing buffers, then
    /// ended in an arithmetic overflow (found by a QA helper). The max may be unbounded; a run checks its own shapes.
    /// </summary>
    private static void CheckSize(string what, ReadOnlySpan<int> optShape)
    {
        double values = 1;
        foreach (int d in optShape) values *= d;
        if (values * sizeof(float) > MaxTensorBytes)
            throw new ShapeException($"{what} at the opt shape {Shapes.Format(optShape)}, which the build times, would hold {values:N0} values, {values * sizeof(float) / (1 << 30):N1} GiB: " +
                                     "more than one tensor of an engine can (2 GiB). Give a smaller -OptShape (-MaxShape alone sets it too), and run larger batches in parts.");
    }

    private static List<Layer> RemoveDeadLayers(List<Layer> layers, HashSet<int> outputs)
    {
        var needed = new HashSet<int>(outputs);
        var kept = new List<Layer>();
        for (int l = layers.Count - 1; l >= 0; l--)
        {
            if (!needed.Contains(layers[l].Output)) continue;
            kept.Add(layers[l]);
            foreach (var v in layers[l].Inputs)
                if (!v.IsNone && !v.IsWeight) needed.Add(v.Index);
        }
        kept.Reverse();
        return kept;
    }

    /// <summary>
    /// The shapes at the profiles' <paramref name="which"/> ends; where the network cannot take them, the error says which
    /// shapes those are (a dim the model leaves dynamic and no profile sets is 1 at both ends, too small for a window).
    /// </summary>
    private static int[][] ProfileShapes(NetworkDefinition network, List<EngineTensor> tensors, List<Layer> layers, IReadOnlyList<ShapeProfile> profiles, string which,
                                         Func<ShapeProfile, int[]> end)
    {
        try
        {
            return InferShapes(network, tensors, layers, profiles.Select(end).ToArray());
        }
        catch (ShapeException e)
        {
            string shapes = string.Join(", ", profiles.Select((p, i) => $"{tensors[network.Inputs[i]].Name} {Shapes.Format(end(p))}"));
            throw new ShapeException($"{e.Message} This is at the profile's {which} shapes ({shapes}); a dim the model leaves dynamic that no profile sets is 1 there. Set the profile's min and opt shapes to sizes the model takes.");
        }
    }

    internal static int[][] InferShapes(NetworkDefinition network, List<EngineTensor> tensors, List<Layer> layers, int[][] inputShapes)
    {
        var shapes = new int[tensors.Count][];
        for (int i = 0; i < network.Inputs.Count; i++) shapes[network.Inputs[i]] = inputShapes[i];
        InferShapes(network, layers, 0, shapes);
        return shapes;
    }

    /// <summary>Infers the output shapes of layers[first..] into <paramref name="shapes"/>, which holds those of the inputs and the layers before.</summary>
    internal static void InferShapes(NetworkDefinition network, IReadOnlyList<Layer> layers, int first, int[][] shapes)
    {
        var operands = new List<int[]>();
        for (int l = first; l < layers.Count; l++)
        {
            var layer = layers[l];
            operands.Clear();
            foreach (var v in layer.Inputs) operands.Add(v.IsNone ? [] : v.IsWeight ? network.Weights[v.Index].Shape : shapes[v.Index]);
            shapes[layer.Output] = layer.InferShape(operands);
        }
    }

    private static void SelectTactics(NetworkDefinition network, List<Layer> layers, int[][] optShapes, TacticSelector selector, IProgress<BuildProgress>? progress, Action<string>? log, CancellationToken cancel)
    {
        // Depthwise and small-group convolutions have no GEMM and no other algorithm, so nothing to choose.
        foreach (var conv in layers.OfType<ConvLayer>()) conv.Algorithm = conv.RuleAlgorithm(network.Weights[conv.W.Index].Shape);
        var tuned = layers.Where(l => l is GemmLayer || l is ConvLayer { Algorithm: not (ConvAlgorithm.Depthwise or ConvAlgorithm.GroupedDirect) }).ToList();
        for (int i = 0; i < tuned.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var layer = tuned[i];
            progress?.Report(new BuildProgress("Tuning tactics", i, tuned.Count, layer.Name));
            var (tactic, us, timed, what) = layer switch
            {
                GemmLayer gemm => Gemm(gemm),
                _ => Conv((ConvLayer)layer),
            };
            layer.Tactic = tactic;
            layer.TacticMicroseconds = us;
            log?.Invoke($"Layer '{layer.Name}' ({what}): tactic {tactic}{(us > 0 ? $", {us:F1} µs" : "")}{(timed ? "" : us > 0 ? " (timing cache)" : " (heuristic)")}.");
        }
        progress?.Report(new BuildProgress("Tuning tactics", tuned.Count, tuned.Count, ""));

        (string, double, bool, string) Gemm(GemmLayer gemm)
        {
            int[] a = optShapes[gemm.A.Index];
            int m = Math.Max(1, gemm.TransA ? a[1] : (int)(Shapes.ElementCount(a) / gemm.K));
            string what = $"m={m}, k={gemm.K}, n={gemm.N}";
            gemm.WeightRows = gemm.TakesWeightRows(m);
            if (gemm.WeightRows) return ("weight_rows", 0, false, what);
            var (tactic, us, timed) = selector.Choose(gemm, m, cancel);
            gemm.TacticId = tactic.Id;
            return (tactic.Name, us, timed, what);
        }

        (string, double, bool, string) Conv(ConvLayer conv)
        {
            int[] x = optShapes[conv.X.Index], w = network.Weights[conv.W.Index].Shape, y = optShapes[conv.Output];
            var (algorithm, tactic, us, timed) = selector.Choose(conv, x, w, y, cancel);
            conv.Algorithm = algorithm;
            conv.TacticId = tactic.Id;
            return (tactic.Name, us, timed, $"conv {Shapes.Format(x)} → {Shapes.Format(y)}, {conv.AlgorithmName}");
        }
    }

    /// <summary>Times (or rules) whether a chain runs fused, and records the choice on the fused layer.</summary>
    private static bool ChooseFusion(FusedInvertedResidualLayer fused, EngineWeight[] weights, int[][] optShapes, TacticSelector selector,
        Action<string>? log, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        int[][] shapes = fused.Inputs.Select(v => v.IsNone ? [] : v.IsWeight ? weights[v.Index].Shape : optShapes[v.Index]).ToArray();
        var (fuse, us, timed) = selector.Choose(fused, shapes, cancel);
        fused.Tactic = $"{FusedInvertedResidualLayer.AlgorithmName} (expand {fused.Expand.Tactic}{(fused.Project is null ? "" : $", project {fused.Project.Tactic}")})";
        fused.TacticMicroseconds = us;
        log?.Invoke($"Inverted residual '{fused.Name}' ({fused.Origins.Length} network layers): {(fuse ? "fused" : "separate")}{(us > 0 ? $", {us:F1} µs" : "")}{(timed ? "" : us > 0 ? " (timing cache)" : " (rule)")}.");
        return fuse;
    }

    /// <summary>Replaces model-weight operands by engine weights with recipes; identical recipes share one engine weight.</summary>
    private static (EngineWeight[] Weights, ModelWeightInfo[] Sources, FoldedOp[] FoldedOps) PlanWeights(NetworkDefinition network, List<Layer> layers, ISet<string> folded)
    {
        var weights = new List<EngineWeight>();
        var index = new Dictionary<WeightRecipe, int>();
        int Add(WeightRecipe recipe, string name, int[] shape)
        {
            if (index.TryGetValue(recipe, out int existing)) return existing;
            long[] lengths = recipe.Sources.Select(s => network.Weights.First(w => w.Name == s).Values.LongLength).ToArray();
            weights.Add(new EngineWeight(name, shape, recipe, recipe.OutputLength(lengths)));
            index.Add(recipe, weights.Count - 1);
            return weights.Count - 1;
        }
        foreach (var layer in layers)
        {
            if (layer is ConvLayer conv && (conv.FoldedBatchNorm is not null || conv.ChannelsLast))
                PlanConvWeights(conv);
            for (int i = 0; i < layer.Inputs.Length; i++)
            {
                var v = layer.Inputs[i];
                if (!v.IsWeight || (layer is ConvLayer c && ((i == 1 && (c.FoldedBatchNorm is not null || c.ChannelsLast)) || (i == 2 && c.FoldedBatchNorm is not null)))) continue;
                var source = network.Weights[v.Index];
                int w = layer switch
                {
                    GemmLayer { WeightRows: true } g when i == 1 => g.Alpha == 1f
                        ? Add(WeightRecipe.Identity(source.Name), source.Name, source.Shape)
                        : Add(WeightRecipe.Scale(source.Name, g.Alpha, g.N * g.K), $"{g.Name}.B", [g.N, g.K]),
                    GemmLayer g when i == 1 => Add(WeightRecipe.PackGemmB(source.Name, g.K, g.N, g.TransB, g.Alpha, g.TacticId), $"{g.Name}.B", [g.K, g.N]),
                    GemmLayer g when i == 2 => g.Beta == 1f && source.Values.Length == g.N
                        ? Add(WeightRecipe.Identity(source.Name), source.Name, [g.N])
                        : Add(WeightRecipe.Scale(source.Name, g.Beta, g.N), $"{g.Name}.bias", [g.N]),
                    _ => Add(WeightRecipe.Identity(source.Name), source.Name, source.Shape),
                };
                layer.Inputs[i] = ValueRef.Weight(w);
            }
        }
        var used = weights.SelectMany(w => w.Recipe.Sources).ToHashSet(StringComparer.Ordinal);
        // A computed weight in use needs its folded operation and that operation's inputs, transitively.
        var ops = new List<FoldedOp>();
        foreach (var op in network.FoldedOps.Reverse())
            if (used.Contains(op.Output))
            {
                ops.Insert(0, op);
                used.UnionWith(op.Inputs);
            }

        // A folded BatchNormalization and a channels-last packing are both part of the weight's recipe: fold, then pack.
        void PlanConvWeights(ConvLayer conv)
        {
            var bn = conv.FoldedBatchNorm;
            string Name(int input) => network.Weights[bn!.Inputs[input].Index].Name;
            var w = network.Weights[conv.W.Index];
            int taps = conv.KernelH * conv.KernelW;
            var form = conv.Packing;
            var recipe = conv.ChannelsLast
                ? WeightRecipe.PackConv(w.Name, bn is null ? null : (Name(1), Name(4), bn.Epsilon), form, w.Shape[0], w.Shape[1] * taps, taps, form == ConvPacking.Depthwise ? -1 : conv.TacticId)
                : WeightRecipe.FoldBatchNormWeight(w.Name, Name(1), Name(4), bn!.Epsilon);
            conv.Inputs[1] = ValueRef.Weight(Add(recipe, $"{conv.Name}.W", w.Shape));
            if (bn is null) return;
            string? bias = conv.Bias.IsNone ? null : network.Weights[conv.Bias.Index].Name;
            conv.Inputs[2] = ValueRef.Weight(Add(WeightRecipe.FoldBatchNormBias(bias, Name(1), Name(2), Name(3), Name(4), bn.Epsilon), $"{conv.Name}.bias", [w.Shape[0]]));
        }
        var sources = network.Weights.Where(w => used.Contains(w.Name) || folded.Contains(w.Name))
            .Select(w => new ModelWeightInfo(w.Name, w.Shape, w.Kind, Folded: !used.Contains(w.Name))).ToArray();
        return ([.. weights], sources, [.. ops]);
    }

    /// <summary>Keeps only the tensors the remaining layers touch, renumbered in order.</summary>
    private static (EngineTensor[] Tensors, int[] Inputs, int[] Outputs) CompactTensors(NetworkDefinition network, List<EngineTensor> all, List<Layer> layers)
    {
        var map = new Dictionary<int, int>();
        var tensors = new List<EngineTensor>();
        int Map(int t)
        {
            if (!map.TryGetValue(t, out int n))
            {
                map[t] = n = tensors.Count;
                tensors.Add(all[t]);
            }
            return n;
        }
        int[] inputs = network.Inputs.Select(Map).ToArray();
        foreach (var layer in layers)
        {
            for (int i = 0; i < layer.Inputs.Length; i++)
                if (!layer.Inputs[i].IsNone && !layer.Inputs[i].IsWeight) layer.Inputs[i] = ValueRef.Tensor(Map(layer.Inputs[i].Index));
            layer.Output = Map(layer.Output);
        }
        int[] outputs = network.Outputs.Select(Map).ToArray();
        return ([.. tensors], inputs, outputs);
    }
}
