using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Recognises SiLU as exporters write it, x · sigmoid(x) (EfficientNet's activation), and replaces the Sigmoid and
/// the Mul by one Silu activation, which the epilogue fusion can then absorb into the convolution producing x.
/// </summary>
internal static class SiluFusion
{
    public static List<Layer> Run(List<Layer> layers, IReadOnlyCollection<int> outputs)
    {
        var consumers = LayerConsumers.Of(layers);
        var replaced = new Dictionary<Layer, Layer>();
        var removed = new HashSet<Layer>();
        foreach (var layer in layers)
        {
            if (layer is not ActivationLayer { Activation.Kind: ActivationKind.Sigmoid } sigmoid || sigmoid.Inputs[0].IsWeight || outputs.Contains(sigmoid.Output)) continue;
            var x = sigmoid.Inputs[0];
            if (!consumers.TryGetValue(sigmoid.Output, out var users) || users is not [ElementwiseLayer { Operation: BinaryOp.Mul } mul]) continue;
            var sig = ValueRef.Tensor(sigmoid.Output);
            if (!(mul.Inputs[0] == sig && mul.Inputs[1] == x) && !(mul.Inputs[1] == sig && mul.Inputs[0] == x)) continue;
            replaced[sigmoid] = new ActivationLayer(sigmoid.Name, new Activation(ActivationKind.Silu), x)
            {
                Output = mul.Output,
                Origins = [.. sigmoid.Origins, .. mul.Origins],
            };
            removed.Add(mul);
        }
        return layers.Where(l => !removed.Contains(l)).Select(l => replaced.GetValueOrDefault(l, l)).ToList();
    }
}
