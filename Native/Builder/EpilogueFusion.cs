using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Folds what follows a GEMM, a convolution or a BatchNormalization left standing into its epilogue, while the output is
/// still in cache: a per-column bias Add (GEMM without bias), a residual Add of an earlier tensor (convolution), then one
/// activation.
/// Only when the producer's output feeds nothing else.
/// </summary>
internal static class EpilogueFusion
{
    private static readonly HashSet<ActivationKind> Fusable =
    [
        ActivationKind.Relu, ActivationKind.Sigmoid, ActivationKind.Tanh, ActivationKind.Gelu, ActivationKind.Clip,
        ActivationKind.LeakyRelu, ActivationKind.HardSigmoid, ActivationKind.HardSwish, ActivationKind.Silu,
    ];

    /// <param name="probes">The network's tensor shapes across the profiles, which show whether a residual has the convolution's shape.</param>
    public static List<Layer> Run(List<Layer> layers, NetworkDefinition network, IReadOnlyCollection<int> outputs, ShapeProbes probes)
    {
        var consumers = LayerConsumers.Of(layers);
        var producer = new Dictionary<int, int>();
        for (int i = 0; i < layers.Count; i++) producer[layers[i].Output] = i;

        var removed = new HashSet<Layer>();
        for (int index = 0; index < layers.Count; index++)
        {
            var layer = layers[index];
            if (layer is not (GemmLayer or ConvLayer or BatchNormLayer)) continue;
            while (!outputs.Contains(layer.Output) && consumers.TryGetValue(layer.Output, out var next) && next.Count == 1 && !removed.Contains(next[0]))
            {
                Layer follower = next[0];
                if (!TryAbsorb(layer, follower, network, probes, t => !producer.TryGetValue(t, out int p) || p < index)) break;
                layer.Output = follower.Output;
                layer.Origins = [.. layer.Origins, .. follower.Origins];
                removed.Add(follower);
            }
        }
        return layers.Where(l => !removed.Contains(l)).ToList();
    }

    /// <param name="readyBefore">Whether a tensor is computed before the producer runs (a residual must be).</param>
    private static bool TryAbsorb(Layer layer, Layer follower, NetworkDefinition network, ShapeProbes probes, Func<int, bool> readyBefore)
    {
        switch (layer, follower)
        {
            case (GemmLayer gemm, ElementwiseLayer { Operation: BinaryOp.Add } add)
                when gemm.Bias.IsNone && gemm.Activation.Kind == ActivationKind.Identity
                     && OtherOperand(add, gemm.Output) is { IsWeight: true } bias && IsColumnBias(network.Weights[bias.Index].Shape, gemm.N, network.Tensors[gemm.Output].Dims.Length):
                gemm.Inputs[2] = bias;
                return true;
            case (ConvLayer conv, ElementwiseLayer { Operation: BinaryOp.Add } add)
                when conv.Residual.IsNone && conv.Activation.Kind == ActivationKind.Identity
                     && OtherOperand(add, conv.Output) is { IsWeight: false } residual && residual.Index != conv.Output && readyBefore(residual.Index)
                     && SameShapeAtRunTime(network, probes, residual.Index, conv.Output, add.Output):
                conv.Inputs[3] = residual;
                return true;
            case (BatchNormLayer batchNorm, ActivationLayer act) when batchNorm.Activation.Kind == ActivationKind.Identity && Fusable.Contains(act.Activation.Kind):
                batchNorm.Activation = act.Activation;
                return true;
            case (GemmLayer gemm, ActivationLayer act) when gemm.Activation.Kind == ActivationKind.Identity && Fusable.Contains(act.Activation.Kind):
                gemm.Activation = act.Activation;
                return true;
            case (ConvLayer conv, ActivationLayer act) when conv.Activation.Kind == ActivationKind.Identity && Fusable.Contains(act.Activation.Kind):
                conv.Activation = act.Activation;
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Whether the residual, the convolution's output and the sum have one shape whatever the inputs: the Add must
    /// broadcast neither operand, as the convolution writes and reads one element of each per output element. Equal
    /// dims prove it where they are static; dynamic ones only where the three agree at every probe of the profiles
    /// (a batch 'n' of one input and an 'm' of another may meet as 3 and 1, and so may an input's batch and the first
    /// image sliced from it, though both are [?, C, H, W]).
    /// </summary>
    private static bool SameShapeAtRunTime(NetworkDefinition network, ShapeProbes probes, int residual, int convOutput, int sum)
    {
        int[] y = network.Tensors[sum].Dims;
        return network.Tensors[residual].Dims.AsSpan().SequenceEqual(y) && network.Tensors[convOutput].Dims.AsSpan().SequenceEqual(y)
            && (Shapes.IsStatic(y) || probes.Same(residual, convOutput, sum));
    }

    private static ValueRef? OtherOperand(ElementwiseLayer add, int tensor) =>
        add.Inputs[0] == ValueRef.Tensor(tensor) ? add.Inputs[1] : add.Inputs[1] == ValueRef.Tensor(tensor) ? add.Inputs[0] : null;

    /// <summary>A bias that adds one value per output column and does not widen the output: [N], [1, N], …</summary>
    private static bool IsColumnBias(int[] shape, int n, int outputRank)
    {
        if (shape.Length == 0 || shape.Length > outputRank || shape[^1] != n) return false;
        for (int i = 0; i < shape.Length - 1; i++)
            if (shape[i] != 1) return false;
        return true;
    }
}
