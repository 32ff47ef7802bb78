using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Core.Engines;

/// <summary>What an engine is made of: layers after fusion with their origins and tactics, weights with their recipes, and what it was built for.</summary>
public sealed class TrtEngineInfo
{
    public required string Name { get; init; }
    public required TrtTensorInfo[] Inputs { get; init; }
    public required TrtTensorInfo[] Outputs { get; init; }
    public required int OptimizationLevel { get; init; }
    public required string InstructionSet { get; init; }
    public required int Threads { get; init; }
    public required bool HasWeights { get; init; }
    public required long WeightBytes { get; init; }
    public required int ModelLayerCount { get; init; }
    public required TrtLayerInfo[] Layers { get; init; }
    public required TrtWeightInfo[] Weights { get; init; }

    /// <summary>The model weights a refit takes, by name (folded ones refit only with their recorded value).</summary>
    public required string[] ModelWeights { get; init; }

    /// <summary>
    /// Weights the model computes from others with no run-time input (an export without constant folding: a transposed,
    /// scaled or sliced parameter), as "name = Operation(inputs)": every refit computes them again from its inputs.
    /// </summary>
    public required string[] ComputedWeights { get; init; }

    public static TrtEngineInfo From(TrtEngine engine)
    {
        if (engine.IsDisposed) throw new EngineDisposedException(engine.Name);
        EnginePlan plan = engine.Native.Plan;
        string Operand(ValueRef v) => v.IsNone ? "" : v.IsWeight ? plan.Weights[v.Index].Name : plan.Tensors[v.Index].Name;
        return new TrtEngineInfo
        {
            Name = plan.Name,
            Inputs = engine.Inputs,
            Outputs = engine.Outputs,
            OptimizationLevel = plan.OptimizationLevel,
            InstructionSet = plan.Hardware.InstructionSet,
            Threads = plan.Hardware.Threads,
            HasWeights = engine.HasWeights,
            WeightBytes = engine.WeightBytes,
            ModelLayerCount = plan.Layers.Sum(l => l.Origins.Length),
            Layers = plan.Layers.Select((layer, i) => new TrtLayerInfo
            {
                Index = i,
                Name = layer.Name,
                Type = Describe(layer, plan),
                Origins = layer.Origins,
                Algorithm = layer switch
                {
                    ConvLayer conv => conv.AlgorithmName,
                    FusedInvertedResidualLayer => FusedInvertedResidualLayer.AlgorithmName,
                    FusedConvPoolLayer => FusedConvPoolLayer.AlgorithmName,
                    _ => null,
                },
                Tactic = layer.Tactic,
                TacticMicroseconds = layer.TacticMicroseconds,
                Inputs = layer.Inputs.Where(v => !v.IsNone).Select(Operand).ToArray(),
                Output = plan.Tensors[layer.Output].Name,
                OutputShape = plan.Tensors[layer.Output].Dims,
            }).ToArray(),
            Weights = plan.Weights.Select(w => new TrtWeightInfo
            {
                Name = w.Name, Shape = w.Shape, Recipe = w.Recipe.ToString(), Sources = w.Recipe.Sources, SizeBytes = w.Length * sizeof(float),
            }).ToArray(),
            ModelWeights = plan.ModelWeights.Where(m => m.Kind != WeightKind.Computed).Select(m => m.Folded ? m.Name + " (folded)" : m.Name).ToArray(),
            ComputedWeights = plan.FoldedOps.Select(o => $"{o.Output} = {Operation(o)}({string.Join(", ", o.Inputs)})").ToArray(),
        };
    }

    /// <summary>The ONNX-like name of what a folded operation computes.</summary>
    private static string Operation(FoldedOp op) => op.Kind switch
    {
        FoldedOpKind.Binary => ((BinaryOp)op.Ints[0]).ToString(),
        FoldedOpKind.Copy => "Reshape",
        _ => op.Kind.ToString(),
    };

    internal static string Describe(Layer layer, EnginePlan plan)
    {
        var (type, activation) = layer switch
        {
            ConvLayer conv => ($"Conv ({conv.AlgorithmName}{(conv.Groups > 1 && conv.Algorithm != ConvAlgorithm.Depthwise ? $", {conv.Groups} groups" : "")})" +
                $"{(conv.ChannelScale.IsNone ? "" : " × channel scale")}{(conv.Residual.IsNone ? "" : " + residual")}", conv.Activation),
            BatchNormLayer batchNorm => ($"BatchNorm{(batchNorm.ChannelsLast ? " (nhwc)" : "")}", batchNorm.Activation),
            FusedInvertedResidualLayer fused => ($"Fused inverted residual ({fused.Expand.AlgorithmName} → {fused.Depthwise.AlgorithmName} " +
                $"{fused.Depthwise.KernelH}x{fused.Depthwise.KernelW}/{fused.Depthwise.Strides[0]}{(fused.Project is null ? "" : $" → {fused.Project.AlgorithmName}")}){(fused.Residual.IsNone ? "" : " + residual")}",
                (fused.Project ?? fused.Depthwise).Activation),
            FusedConvPoolLayer fused => ($"Fused convolution and pool (conv {fused.Conv.AlgorithmName} {fused.Conv.KernelH}x{fused.Conv.KernelW}/{fused.Conv.Strides[0]} → {fused.Pool.PoolKind} pool " +
                $"{fused.Pool.Kernel[0]}x{fused.Pool.Kernel[1]}/{fused.Pool.Strides[0]})", fused.Conv.Activation),
            GemmLayer gemm => ($"Gemm{(gemm.Bias.IsNone ? "" : " + bias")}", gemm.Activation),
            ConcatLayer { Normalizes: true } concat => ("Concat + BatchNorm (nhwc)", concat.Activation),
            ConcatLayer { InPlaceCount: > 0 } concat => ($"Concat ({concat.InPlaceCount} of {concat.Inputs.Length} inputs written in place)", Activation.Identity),
            ActivationLayer act => (act.Activation.Kind.ToString(), Activation.Identity),
            ElementwiseLayer e => (e.Operation.ToString(), Activation.Identity),
            AxisLayer a => (a.Operation.ToString(), Activation.Identity),
            RecurrentLayer r => ($"{r.Cell.ToString().ToUpperInvariant()} ({(r.Bidirectional ? "bidirectional" : r.Reverse ? "reverse" : "forward")}, {r.Which.ToString().ToLowerInvariant()})", Activation.Identity),
            _ => (layer.Kind.ToString(), Activation.Identity),
        };
        return activation.Kind == ActivationKind.Identity ? type : $"{type} + {activation.Kind}";
    }

    public override string ToString() => $"{Name}: {Layers.Length} layers from {ModelLayerCount} model layers, {Weights.Length} engine weights";
}
