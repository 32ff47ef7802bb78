using System.Runtime.CompilerServices;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Native.Plan;

/// <summary>
/// Checks that a plan read from outside is consistent before anything runs it: every reference in range,
/// tensors defined before use, and every weight's length what its recipe makes (kernels trust these sizes).
/// </summary>
internal static class PlanValidator
{
    public static void Validate(EnginePlan plan)
    {
        int tensors = plan.Tensors.Length;
        var defined = new bool[tensors];
        foreach (int i in plan.Inputs)
        {
            Check(i >= 0 && i < tensors, $"input tensor {i} does not exist");
            defined[i] = true;
        }
        for (int i = 0; i < plan.Inputs.Length; i++) ValidateProfile(plan, i);

        var sources = new Dictionary<string, ModelWeightInfo>(StringComparer.Ordinal);
        foreach (var m in plan.ModelWeights)
        {
            Check(sources.TryAdd(m.Name, m), $"model weight '{m.Name}' is listed twice");
            Check(Shapes.IsStatic(m.Shape), $"model weight '{m.Name}' has a dynamic shape");
            Check(!m.Folded || m.Kind == WeightKind.Constant, $"model weight '{m.Name}' is folded but not a constant");
        }
        ValidateFoldedOps(plan, sources);
        foreach (var w in plan.Weights) ValidateWeight(w, sources);

        var producers = new Dictionary<int, Layer>();
        var readers = plan.Layers.SelectMany(l => l.Inputs).Where(v => !v.IsNone && !v.IsWeight).GroupBy(v => v.Index).ToDictionary(g => g.Key, g => g.Count());
        foreach (var layer in plan.Layers)
        {
            for (int i = 0; i < layer.Inputs.Length; i++)
            {
                var v = layer.Inputs[i];
                if (v.IsNone) Check(((layer.Kind is LayerKind.Gemm or LayerKind.ConvTranspose or LayerKind.FusedConvPool or LayerKind.LayerNorm) && i == 2) || (layer.Kind == LayerKind.Conv && i >= 2) || (layer.Kind == LayerKind.Recurrent && i >= 3) ||
                                    (layer.Kind == LayerKind.FusedInvertedResidual && (i % 2 == 0 || i >= 5) && i > 0), $"layer '{layer.Name}' lacks input {i}");
                else if (v.IsWeight) Check(v.Index < plan.Weights.Length, $"layer '{layer.Name}' reads weight {v.Index}, which does not exist");
                else Check(v.Index < tensors && defined[v.Index], $"layer '{layer.Name}' reads tensor {v.Index} before it is computed");
            }
            Check(layer.Output >= 0 && layer.Output < tensors && !defined[layer.Output], $"layer '{layer.Name}' writes tensor {layer.Output}, which does not exist or is already written");
            defined[layer.Output] = true;
            producers[layer.Output] = layer;
            if (layer is GemmLayer gemm) ValidateGemm(plan, gemm);
            if (layer is ConvLayer conv) ValidateConv(plan, conv);
            if (layer is FusedInvertedResidualLayer fused) ValidateInvertedResidual(plan, fused);
            if (layer is FusedConvPoolLayer convPool) ValidateConvPool(plan, convPool);
            if (layer is ConcatLayer concat) ValidateConcat(plan, concat, producers, readers);
            if (layer is ChannelShuffleLayer shuffle) Check(shuffle.Inputs.All(v => !v.IsWeight), $"ChannelShuffle layer '{shuffle.Name}' reads a weight");
        }
        foreach (int o in plan.Outputs) Check(o >= 0 && o < tensors && defined[o], $"output tensor {o} is never computed");
        ValidateShapes(plan);
    }

    /// <summary>
    /// The builder inferred every shape at the profiles' minimum and optimum, so a plan whose shapes do not follow from
    /// its inputs' there (dimensions edited consistently with each other but not with a weight) is refused when it is
    /// read, not at its first run; and its outputs have the dimensions it declares to callers.
    /// </summary>
    private static void ValidateShapes(EnginePlan plan)
    {
        var shapes = new int[plan.Tensors.Length][];
        foreach (bool minimum in (bool[])[true, false])
        {
            string where = minimum ? "minimum" : "optimum";
            try
            {
                plan.InferShapes(shapes, Array.ConvertAll(plan.Profiles, p => minimum ? p.Min : p.Opt));
            }
            catch (Exception e) when (e is ShapeException or ArgumentException or OverflowException)
            {
                Check(false, $"its shapes do not follow from its inputs' at the profiles' {where} ({e.Message})");
            }
            foreach (int o in plan.Outputs)
                Check(Declares(plan.Tensors[o].Dims, shapes[o]), $"output '{plan.Tensors[o].Name}' is declared {Shapes.Format(plan.Tensors[o].Dims)} but is {Shapes.Format(shapes[o])} at the profiles' {where}");
        }
    }

    private static bool Declares(int[] dims, int[] shape)
    {
        if (dims.Length != shape.Length) return false;
        for (int d = 0; d < dims.Length; d++)
            if (dims[d] >= 0 && dims[d] != shape[d]) return false;
        return true;
    }

    /// <summary>Each computed weight is the output of exactly one folded operation, which reads weights listed before it.</summary>
    private static void ValidateFoldedOps(EnginePlan plan, Dictionary<string, ModelWeightInfo> sources)
    {
        var available = plan.ModelWeights.Where(m => m.Kind != WeightKind.Computed).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var op in plan.FoldedOps)
        {
            Check(sources.TryGetValue(op.Output, out var output) && output.Kind == WeightKind.Computed && !available.Contains(op.Output),
                $"folded '{op.Output}' is not a computed model weight or is computed twice");
            for (int i = 0; i < op.Inputs.Length; i++)
                Check(available.Contains(op.Inputs[i]) && i < op.InputShapes.Length && sources[op.Inputs[i]].Shape.AsSpan().SequenceEqual(op.InputShapes[i]),
                    $"folded '{op.Output}' reads '{op.Inputs[i]}', which is not a model weight of that shape listed before it");
            Check(output!.Shape.AsSpan().SequenceEqual(op.OutputShape), $"folded '{op.Output}' has another shape than its model weight");
            try
            {
                op.Validate();
            }
            catch (Exception e) when (e is ShapeException or ArgumentException or OverflowException)
            {
                Check(false, $"{e.Message}");
            }
            available.Add(op.Output);
        }
        foreach (var m in plan.ModelWeights.Where(m => m.Kind == WeightKind.Computed))
            Check(available.Contains(m.Name), $"computed model weight '{m.Name}' has no folded operation");
    }

    private static void ValidateProfile(EnginePlan plan, int input)
    {
        var p = plan.Profiles[input];
        int[] dims = plan.Tensors[plan.Inputs[input]].Dims;
        Check(p.Min.Length == dims.Length && p.Opt.Length == dims.Length && p.Max.Length == dims.Length, $"the profile of input '{plan.InputName(input)}' has the wrong rank");
        for (int d = 0; d < dims.Length; d++)
            Check(p.Min[d] >= 0 && p.Min[d] <= p.Opt[d] && p.Opt[d] <= p.Max[d] && (dims[d] < 0 || (p.Min[d] == dims[d] && p.Max[d] == dims[d])),
                $"the profile of input '{plan.InputName(input)}' is inconsistent at dimension {d}");
    }

    private static void ValidateWeight(EngineWeight w, Dictionary<string, ModelWeightInfo> sources)
    {
        var r = w.Recipe;
        Check(r.Sources.Length == WeightRecipe.SourceCount(r.Kind, r.Ints, r.Floats), $"weight '{w.Name}' has {r.Sources.Length} sources for a {r.Kind} recipe");
        var lengths = new long[r.Sources.Length];
        for (int i = 0; i < lengths.Length; i++)
        {
            Check(sources.TryGetValue(r.Sources[i], out var source), $"weight '{w.Name}' derives from '{r.Sources[i]}', which is not a model weight of the plan");
            lengths[i] = source!.ElementCount;
        }
        bool arity = r.Kind switch
        {
            RecipeKind.Identity => r.Ints.Length == 0 && r.Floats.Length == 0,
            RecipeKind.Scale => r.Ints.Length == 1 && r.Floats.Length == 1 && r.Ints[0] >= 0 && (lengths[0] == 1 || lengths[0] == r.Ints[0] || r.Ints[0] == 0),
            RecipeKind.PackGemmB => r.Ints.Length == 4 && r.Floats.Length == 1 && r.Ints[0] > 0 && r.Ints[1] > 0 &&
                                    r.Ints[3] >= 0 && r.Ints[3] < GemmKernels.Tactics.Count && (long)r.Ints[0] * r.Ints[1] == lengths[0],
            RecipeKind.FoldBatchNormWeight => r.Floats.Length == 1 && lengths[1] == lengths[2] && lengths[1] > 0 && lengths[0] % lengths[1] == 0,
            RecipeKind.FoldBatchNormBias => r.Floats.Length == 1 && r.Ints[0] is 0 or 1 && lengths.Skip(r.Ints[0]).All(l => l == lengths[^1]) && (r.Ints[0] == 0 || lengths[0] == lengths[^1]),
            RecipeKind.PackConv => r.Ints is [var form, var outC, var k, var taps, var tactic] && outC > 0 && taps > 0 && k % taps == 0 && (long)outC * k == lengths[0] &&
                                   (r.Floats.Length == 0 || (lengths[1] == outC && lengths[2] == outC)) &&
                                   ((form == (int)ConvPacking.Depthwise && (k == taps || k == 2 * taps || k == 4 * taps)) ||
                                    ((form == (int)ConvPacking.Gemm || (ConvWeightPacking.WinogradTile((ConvPacking)form) > 0 && taps == 9)) && tactic >= 0 && tactic < GemmKernels.Tactics.Count)),
            _ => false,
        };
        Check(arity, $"weight '{w.Name}' has a malformed {r.Kind} recipe");
        Check(w.Length == r.OutputLength(lengths) && w.Length <= int.MaxValue, $"weight '{w.Name}' claims {w.Length} values, its recipe makes {r.OutputLength(lengths)}");
        if (r.Kind is not (RecipeKind.PackGemmB or RecipeKind.PackConv))
            Check(Shapes.IsStatic(w.Shape) && Shapes.ElementCount(w.Shape) == w.Length, $"weight '{w.Name}' has shape {Shapes.Format(w.Shape)} for {w.Length} values");
    }

    private static void ValidateGemm(EnginePlan plan, GemmLayer gemm)
    {
        if (gemm.WeightRows)
            Check(gemm.TransB && !gemm.TransA && gemm.B.IsWeight && plan.Weights[gemm.B.Index] is { Recipe.Kind: RecipeKind.Identity or RecipeKind.Scale } rows &&
                  rows.Length == (long)gemm.K * gemm.N, $"Gemm layer '{gemm.Name}' does not read its weight's {gemm.N}×{gemm.K} rows");
        else
            Check(gemm.B.IsWeight && plan.Weights[gemm.B.Index].Recipe is { Kind: RecipeKind.PackGemmB } packed &&
                  packed.Ints[0] == gemm.K && packed.Ints[1] == gemm.N && packed.Ints[3] == gemm.TacticId,
                  $"Gemm layer '{gemm.Name}' does not read a weight packed for it");
        Check(!gemm.A.IsWeight, $"Gemm layer '{gemm.Name}' reads a weight as A");
        Check(gemm.Bias.IsNone || (gemm.Bias.IsWeight && plan.Weights[gemm.Bias.Index].Length == gemm.N), $"Gemm layer '{gemm.Name}' has a bias of the wrong length");
    }

    /// <summary>
    /// An input taken in place lives inside the concat's output, pixels a concat pixel apart: only a convolution whose kernel
    /// writes such outputs may produce it, and no other layer, nor the caller, may read it as a tensor of its own.
    /// </summary>
    private static void ValidateConcat(EnginePlan plan, ConcatLayer concat, Dictionary<int, Layer> producers, Dictionary<int, int> readers)
    {
        Check(concat.InPlace.Length == concat.Inputs.Length, $"Concat layer '{concat.Name}' has {concat.InPlace.Length} in-place flags for {concat.Inputs.Length} inputs");
        for (int i = 0; i < concat.Inputs.Length; i++)
        {
            var v = concat.Inputs[i];
            Check(!concat.InPlace[i] || (concat.ChannelsLast && !v.IsWeight && readers[v.Index] == 1 && !plan.Outputs.Contains(v.Index) &&
                                         producers.GetValueOrDefault(v.Index) is ConvLayer { CanWriteStridedOutput: true }),
                  $"Concat layer '{concat.Name}' takes input {i} in place, which needs a channels-last convolution of one group writing it for this concat alone");
        }
        // A normalizing concat reads its data inputs as channels-last tensors and its four parameters as weights of one length.
        Check(!concat.Normalizes || (concat.ChannelsLast && concat.DataCount >= 1 && concat.InPlaceCount == 0 && concat.Inputs[^1] is { IsWeight: true } last &&
                                     concat.Inputs.Take(concat.DataCount).All(v => !v.IsWeight) &&
                                     concat.Inputs.Skip(concat.DataCount).All(v => v.IsWeight && plan.Weights[v.Index].Length == plan.Weights[last.Index].Length)),
              $"Concat layer '{concat.Name}' normalizes what it joins but is not a channels-last concat of tensors with four parameter weights of one length");
    }

    /// <summary>
    /// Each convolution is valid on its own, and together they are what the fused kernel computes: channels-last 1×1
    /// GEMMs around a depthwise convolution of the expanded channels, the residual (if any) on the projection only.
    /// </summary>
    private static void ValidateInvertedResidual(EnginePlan plan, FusedInvertedResidualLayer fused)
    {
        var convolutions = fused.BoundConvolutions();
        foreach (var conv in convolutions) ValidateConv(plan, conv);
        var (expand, depthwise) = (convolutions[0], convolutions[1]);
        int[] expanded = plan.Weights[expand.W.Index].Shape;
        Check(convolutions.All(c => c.ChannelsLast) && ((expand.Algorithm is ConvAlgorithm.PointwiseGemm or ConvAlgorithm.Im2ColGemm) && expand.Groups == 1) &&
              depthwise.Algorithm == ConvAlgorithm.Depthwise && depthwise.Groups == expanded[0] &&
              (convolutions.Length == 2 || (convolutions[2].Algorithm == ConvAlgorithm.PointwiseGemm && convolutions[2].Groups == 1 && plan.Weights[convolutions[2].W.Index].Shape[1] == expanded[0])),
              $"fused layer '{fused.Name}' is not a channels-last 1×1 or im2col → depthwise (→ 1×1) chain over one expanded channel count");
    }

    /// <summary>The convolution is valid on its own, and the pair is what the fused kernel computes: a channels-last im2col convolution then a 2-D pool over its output.</summary>
    private static void ValidateConvPool(EnginePlan plan, FusedConvPoolLayer fused)
    {
        var conv = fused.BoundConvolution();
        ValidateConv(plan, conv);
        Check(conv.ChannelsLast && conv.Algorithm == ConvAlgorithm.Im2ColGemm && conv.Groups == 1 && fused.Pool.ChannelsLast && !fused.Pool.Global,
              $"fused layer '{fused.Name}' is not a channels-last im2col convolution of one group then a channels-last 2-D pool");
    }

    private static void ValidateConv(EnginePlan plan, ConvLayer conv)
    {
        Check(conv.W.IsWeight && plan.Weights[conv.W.Index].Shape is [var outC, _, var kh, var kw] && kh == conv.KernelH && kw == conv.KernelW && outC % conv.Groups == 0,
              $"Conv layer '{conv.Name}' does not read a 4-D weight of its kernel size");
        Check(!conv.X.IsWeight, $"Conv layer '{conv.Name}' reads a weight as its input");
        int[] shape = plan.Weights[conv.W.Index].Shape;
        var recipe = plan.Weights[conv.W.Index].Recipe;
        // The kernels trust the algorithm to fit the convolution's shape and layout.
        Check(conv.Candidates(shape).Contains(conv.Algorithm), $"Conv layer '{conv.Name}' cannot run as {conv.Algorithm}");
        // The channels-last kernels read the packed weight at the lengths its shape and tactic imply.
        Check(conv.ChannelsLast
                  ? conv.SupportsChannelsLast(shape) && recipe.Kind == RecipeKind.PackConv && recipe.Ints[0] == (int)conv.Packing &&
                    recipe.Ints[1] == shape[0] && recipe.Ints[2] == shape[1] * conv.KernelH * conv.KernelW && recipe.Ints[3] == conv.KernelH * conv.KernelW &&
                    (conv.Packing == ConvPacking.Depthwise || (recipe.Ints[4] == conv.TacticId && conv.Fits(GemmKernels.Tactics[conv.TacticId], shape)))
                  : recipe.Kind != RecipeKind.PackConv,
              $"Conv layer '{conv.Name}' does not read a weight packed for its layout and tactic");
        Check(conv.Bias.IsNone || (conv.Bias.IsWeight && plan.Weights[conv.Bias.Index].Length == plan.Weights[conv.W.Index].Shape[0]),
              $"Conv layer '{conv.Name}' has a bias of the wrong length");
        Check(conv.Strides.All(v => v >= 1) && conv.Dilations.All(v => v >= 1) && conv.Pads.All(v => v >= 0), $"Conv layer '{conv.Name}' has a malformed window");
        Check(conv.ChannelScale.IsNone || (!conv.ChannelScale.IsWeight && conv.ChannelsLast && conv.Algorithm == ConvAlgorithm.PointwiseGemm && conv.Groups == 1),
              $"Conv layer '{conv.Name}' has a channel scale but is not a channels-last 1×1 GEMM convolution of one group reading it from a tensor");
        // Only the unfold and the band of one group's im2col GEMM read a planar input.
        Check(!conv.PlanarInput || (conv.ChannelsLast && conv.Algorithm == ConvAlgorithm.Im2ColGemm && conv.Groups == 1 && conv.ChannelScale.IsNone),
              $"Conv layer '{conv.Name}' reads a planar input but is not a channels-last im2col convolution of one group");
    }

    private static void Check(bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref Problem problem)
    {
        if (!condition) throw new PlanFormatException($"The plan is inconsistent: {problem.ToStringAndClear()}.");
    }

    /// <summary>
    /// A check's message, formatted only when the check fails: a valid plan's hundreds of checks format none (they took
    /// about a third of validating SqueezeNet's plan, which every cache hit reads).
    /// </summary>
    [InterpolatedStringHandler]
    internal ref struct Problem
    {
        private DefaultInterpolatedStringHandler _message;

        public Problem(int literalLength, int formattedCount, bool condition, out bool failed)
        {
            failed = !condition;
            _message = failed ? new(literalLength, formattedCount) : default;
        }

        public void AppendLiteral(string value) => _message.AppendLiteral(value);

        public void AppendFormatted<T>(T value) => _message.AppendFormatted(value);

        public string ToStringAndClear() => _message.ToStringAndClear();
    }
}
