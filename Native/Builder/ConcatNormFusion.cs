using TrtEngine.Native.Layers;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Fuses a channels-last BatchNormalization (with its activation) into the channels-last concat it alone reads, which
/// then normalizes its inputs as it joins them (<see cref="ConcatLayer.Normalizes"/>): DenseNet joins every earlier
/// layer's output before each BatchNormalization, and the joined tensor was written, read back and written again.
/// </summary>
internal static class ConcatNormFusion
{
    public static List<Layer> Run(List<Layer> layers, IReadOnlyCollection<int> outputs)
    {
        var consumers = LayerConsumers.Of(layers);
        var producers = layers.ToDictionary(l => l.Output);
        var removed = new HashSet<Layer>();
        foreach (var bn in layers.OfType<BatchNormLayer>())
        {
            if (!bn.ChannelsLast || bn.Inputs[0].IsWeight || !bn.Inputs.Skip(1).All(v => v.IsWeight)) continue;
            int joined = bn.Inputs[0].Index;
            if (producers.GetValueOrDefault(joined) is not ConcatLayer { ChannelsLast: true, Normalizes: false } concat ||
                outputs.Contains(joined) || consumers[joined].Count != 1 || concat.Inputs.Any(v => v.IsWeight)) continue;
            concat.Inputs = [.. concat.Inputs, .. bn.Inputs.Skip(1)];
            concat.InPlace = new bool[concat.Inputs.Length];
            (concat.Normalizes, concat.Epsilon, concat.Activation) = (true, bn.Epsilon, bn.Activation);
            concat.Output = bn.Output;
            concat.Origins = [.. concat.Origins, .. bn.Origins];
            removed.Add(bn);
        }
        return layers.Where(l => !removed.Contains(l)).ToList();
    }
}
