using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Folds a BatchNormalization that directly follows a convolution into the convolution's weight and bias. The
/// engine weights then come from recipes over both layers' model weights, so a refit redoes the fold exactly.
/// </summary>
internal static class BatchNormFolding
{
    public static List<Layer> Run(List<Layer> layers, IReadOnlyCollection<int> outputs)
    {
        var consumers = LayerConsumers.Of(layers);
        var removed = new HashSet<Layer>();
        foreach (var conv in layers.OfType<ConvLayer>())
        {
            if (conv.FoldedBatchNorm is not null || outputs.Contains(conv.Output) || !consumers.TryGetValue(conv.Output, out var next) || next.Count != 1) continue;
            if (next[0] is not BatchNormLayer bn || bn.Inputs[0] != ValueRef.Tensor(conv.Output) || !bn.Inputs.Skip(1).All(v => v.IsWeight)) continue;
            conv.FoldedBatchNorm = bn;
            conv.Output = bn.Output;
            conv.Origins = [.. conv.Origins, .. bn.Origins];
            removed.Add(bn);
        }
        return layers.Where(l => !removed.Contains(l)).ToList();
    }
}
