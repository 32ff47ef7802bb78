using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Folds what follows a GEMM into its epilogue while the tile is still in registers: a per-column bias Add
/// (when the GEMM has none) and then one activation. Only when the GEMM's output feeds nothing else.
/// </summary>
internal static class GemmEpilogueFusion
{
    private static readonly HashSet<ActivationKind> Fusable =
    [
        ActivationKind.Relu, ActivationKind.Sigmoid, ActivationKind.Tanh, ActivationKind.Gelu, ActivationKind.Clip,
        ActivationKind.LeakyRelu, ActivationKind.HardSigmoid, ActivationKind.HardSwish,
    ];

    public static List<Layer> Run(List<Layer> layers, NetworkDefinition network, IReadOnlyCollection<int> outputs)
    {
        var consumers = LayerConsumers.Of(layers);

        var removed = new HashSet<Layer>();
        foreach (var gemm in layers.OfType<GemmLayer>())
        {
            while (!outputs.Contains(gemm.Output) && consumers.TryGetValue(gemm.Output, out var next) && next.Count == 1 && !removed.Contains(next[0]))
            {
                Layer follower = next[0];
                if (follower is ElementwiseLayer { Operation: BinaryOp.Add } add && gemm.Bias.IsNone && gemm.Activation.Kind == ActivationKind.Identity
                    && OtherOperand(add, gemm.Output) is { IsWeight: true } bias && IsColumnBias(network.Weights[bias.Index].Shape, gemm.N, network.Tensors[gemm.Output].Dims.Length))
                {
                    gemm.Inputs[2] = bias;
                }
                else if (follower is ActivationLayer act && gemm.Activation.Kind == ActivationKind.Identity && Fusable.Contains(act.Activation.Kind))
                {
                    gemm.Activation = act.Activation;
                }
                else break;
                gemm.Output = follower.Output;
                gemm.Origins = [.. gemm.Origins, .. follower.Origins];
                removed.Add(follower);
            }
        }
        return layers.Where(l => !removed.Contains(l)).ToList();
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
