using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Recognises GELU as exporters write it, ((x · (erf(x / √2) + 1)) · 0.5), and replaces the five layers by one
/// Gelu activation (which the GEMM epilogue fusion can then absorb). The three constants are folded: the plan
/// records them, and a refit may supply them again only with the same values. Only Constant-node scalars fold:
/// a trained parameter must stay refittable.
/// </summary>
internal static class GeluFusion
{
    public static List<Layer> Run(List<Layer> layers, NetworkDefinition network, IReadOnlyCollection<int> outputs, ISet<string> folded)
    {
        var consumers = LayerConsumers.Of(layers);

        Layer? Sole(Layer layer) =>
            !outputs.Contains(layer.Output) && consumers.TryGetValue(layer.Output, out var list) && list.Count == 1 ? list[0] : null;

        var replaced = new Dictionary<Layer, Layer>();
        var removed = new HashSet<Layer>();
        foreach (var layer in layers)
        {
            if (layer is not ElementwiseLayer { Operation: BinaryOp.Div } div || div.Inputs[0].IsWeight || !IsScalar(network, div.Inputs[1], MathF.Sqrt(2f))) continue;
            var x = div.Inputs[0];
            if (Sole(div) is not ActivationLayer { Activation.Kind: ActivationKind.Erf } erf) continue;
            if (Sole(erf) is not ElementwiseLayer { Operation: BinaryOp.Add } add || Other(add, erf.Output) is not { } one || !IsScalar(network, one, 1f)) continue;
            if (Sole(add) is not ElementwiseLayer { Operation: BinaryOp.Mul } mul || Other(mul, add.Output) != x) continue;
            if (Sole(mul) is not ElementwiseLayer { Operation: BinaryOp.Mul } half || Other(half, mul.Output) is not { } h || !IsScalar(network, h, 0.5f)) continue;
            // A constant of higher rank than x broadcasts x to more dims (a [1,1,1] √2): Gelu would keep x's shape.
            if (!network.Dims(ValueRef.Tensor(half.Output)).AsSpan().SequenceEqual(network.Dims(x))) continue;

            var gelu = new ActivationLayer(div.Name, new Activation(ActivationKind.Gelu), x)
            {
                Output = half.Output,
                Origins = [.. div.Origins, .. erf.Origins, .. add.Origins, .. mul.Origins, .. half.Origins],
            };
            replaced[div] = gelu;
            removed.UnionWith([erf, add, mul, half]);
            foreach (var c in new[] { div.Inputs[1], one, h }) folded.Add(network.Weights[c.Index].Name);
        }
        return layers.Where(l => !removed.Contains(l)).Select(l => replaced.GetValueOrDefault(l, l)).ToList();
    }

    private static ValueRef? Other(Layer layer, int tensor) =>
        layer.Inputs[0] == ValueRef.Tensor(tensor) ? layer.Inputs[1] : layer.Inputs[1] == ValueRef.Tensor(tensor) ? layer.Inputs[0] : null;

    private static bool IsScalar(NetworkDefinition network, ValueRef v, float expected) =>
        v.IsWeight && network.Weights[v.Index] is { Kind: WeightKind.Constant, Values: [var value] } && Math.Abs(value - expected) <= 1e-6f * Math.Abs(expected);
}
