using TrtEngine.Native.Layers;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Finds, after tactics are chosen and weights planned, a channels-last im2col convolution of one group (no residual,
/// no channel scale) whose output only a channels-last 2-D pool reads and is not a network output, and replaces the
/// pair by one <see cref="FusedConvPoolLayer"/> where <paramref name="keep"/> says so (given the convolution). The
/// convolution's output tensor then disappears from the plan.
/// </summary>
internal static class ConvPoolFusion
{
    public static List<Layer> Run(List<Layer> layers, IReadOnlyCollection<int> outputs, Func<ConvLayer, bool> keep, Action<string>? log)
    {
        var consumers = LayerConsumers.Of(layers);
        var producers = layers.ToDictionary(l => l.Output);
        var replaced = new Dictionary<Layer, Layer?>();
        foreach (var pool in layers.OfType<PoolLayer>())
        {
            var x = pool.Inputs[0];
            if (pool is not { ChannelsLast: true, Global: false } || x.IsWeight || outputs.Contains(x.Index) || consumers[x.Index].Count != 1
                || producers.GetValueOrDefault(x.Index) is not ConvLayer { ChannelsLast: true, Algorithm: ConvAlgorithm.Im2ColGemm, Groups: 1, Residual.IsNone: true, ChannelScale.IsNone: true } conv
                || !keep(conv))
                continue;
            replaced[conv] = null;
            replaced[pool] = new FusedConvPoolLayer(conv.Name, conv, pool)
            {
                Output = pool.Output,
                Origins = [.. conv.Origins, .. pool.Origins],
                Tactic = $"{FusedConvPoolLayer.AlgorithmName} (conv {conv.Tactic})",
                TacticMicroseconds = conv.TacticMicroseconds,
            };
            log?.Invoke($"Convolution '{conv.Name}' and pool '{pool.Name}' fused: the convolution's output is not kept whole.");
        }
        return layers.Select(l => replaced.TryGetValue(l, out var r) ? r : l).OfType<Layer>().ToList();
    }
}
