using TrtEngine.Native.Layers;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Finds inverted-residual chains after tactics are chosen and weights planned: a channels-last 1×1 GEMM convolution
/// (or an im2col one of one group: a network's stem, as in MobileNetV2 and EfficientNet, whose first block has no
/// expansion) whose output only a channels-last depthwise convolution reads, whose output only another 1×1 GEMM
/// convolution reads (neither intermediate a network output), and replaces each by one <see cref="FusedInvertedResidualLayer"/> where
/// <paramref name="keep"/> says the fused layer should run. The intermediate tensors then disappear from the plan. A
/// chain whose output a concat takes in place is left alone (the fused kernel writes dense outputs). A squeeze-excitation
/// block's expand → depthwise (the depthwise output read by its global pool or mean over H and W, and by the projection
/// that folded its scale or by the Mul that applies it) fuses without the projection: only the expanded tensor disappears.
/// A convolution that folded a channel scale (a squeeze-excitation's gate on its input) stays out of the chain.
/// </summary>
internal static class InvertedResidualFusion
{
    public static List<Layer> Run(List<Layer> layers, IReadOnlyCollection<int> outputs, Func<FusedInvertedResidualLayer, bool> keep)
    {
        var consumers = LayerConsumers.Of(layers);
        var producers = layers.ToDictionary(l => l.Output);
        var inPlace = layers.OfType<ConcatLayer>().SelectMany(c => c.Inputs.Where((_, i) => c.InPlace[i])).Select(v => v.Index).ToHashSet();
        var replaced = new Dictionary<Layer, Layer?>();
        foreach (var project in layers.OfType<ConvLayer>())
        {
            if (!IsPointwiseGemm(project) || inPlace.Contains(project.Output)
                || ProducerReadOnce(project.X) is not { ChannelsLast: true, Algorithm: ConvAlgorithm.Depthwise, Residual.IsNone: true } depthwise
                || ProducerReadOnce(depthwise.X) is not { Residual.IsNone: true } expand || !Expands(expand))
                continue;
            var fused = new FusedInvertedResidualLayer(expand.Name, expand, depthwise, project)
            {
                Output = project.Output,
                Origins = [.. expand.Origins, .. depthwise.Origins, .. project.Origins],
            };
            if (!keep(fused)) continue;
            replaced[expand] = replaced[depthwise] = null;
            replaced[project] = fused;
        }
        foreach (var depthwise in layers.OfType<ConvLayer>())
        {
            if (depthwise is not { ChannelsLast: true, Algorithm: ConvAlgorithm.Depthwise, Residual.IsNone: true } || replaced.ContainsKey(depthwise)
                || outputs.Contains(depthwise.Output) || !consumers.TryGetValue(depthwise.Output, out var readers)
                || !readers.Any(r => r is PoolLayer { Global: true } or ReduceLayer { ChannelsLast: true })
                || ProducerReadOnce(depthwise.X) is not { Residual.IsNone: true } expand || !Expands(expand) || replaced.ContainsKey(expand))
                continue;
            var fused = new FusedInvertedResidualLayer(expand.Name, expand, depthwise, null)
            {
                Output = depthwise.Output,
                Origins = [.. expand.Origins, .. depthwise.Origins],
            };
            if (!keep(fused)) continue;
            replaced[expand] = null;
            replaced[depthwise] = fused;
        }
        return layers.Select(l => replaced.TryGetValue(l, out var r) ? r : l).OfType<Layer>().ToList();

        // The convolution that computes a tensor read by one layer only and not a network output.
        ConvLayer? ProducerReadOnce(ValueRef v) =>
            !v.IsWeight && !outputs.Contains(v.Index) && consumers.TryGetValue(v.Index, out var readers) && readers.Count == 1
                ? producers.GetValueOrDefault(v.Index) as ConvLayer : null;
    }

    /// <summary>A channels-last 1×1 GEMM convolution of one group that scales no input channels: the fused layer computes no channel scale.</summary>
    private static bool IsPointwiseGemm(ConvLayer conv) => conv is { ChannelsLast: true, Algorithm: ConvAlgorithm.PointwiseGemm, Groups: 1, ChannelScale.IsNone: true };

    /// <summary>A 1×1 GEMM convolution, or an im2col one of one group (a stem, whose rows the fused layer computes through unfolded blocks).</summary>
    private static bool Expands(ConvLayer conv) =>
        IsPointwiseGemm(conv) || conv is { ChannelsLast: true, Algorithm: ConvAlgorithm.Im2ColGemm, Groups: 1, ChannelScale.IsNone: true };
}
