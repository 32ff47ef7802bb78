using TrtEngine.Native.Layers;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Lets convolutions write straight into the channels-last concat that joins their outputs, at their channel offset and
/// one concat pixel apart, so the concat copies nothing for them (SqueezeNet's fire modules join a 1×1 and a 3×3
/// convolution so). An input qualifies when a convolution whose kernel writes strided outputs produces it, the concat
/// is its only reader and reads it once, and it is no network output; the concat still copies the other inputs.
/// </summary>
internal static class InPlaceConcat
{
    public static void Run(List<Layer> layers, IReadOnlyCollection<int> outputs)
    {
        var consumers = LayerConsumers.Of(layers);
        var producers = layers.ToDictionary(l => l.Output);
        // A normalizing concat writes each input through its normalization: none can be in place.
        foreach (var concat in layers.OfType<ConcatLayer>().Where(c => c.ChannelsLast && !c.Normalizes))
            concat.InPlace = concat.Inputs.Select(v => !v.IsWeight && !outputs.Contains(v.Index) && consumers[v.Index].Count == 1 &&
                                                       producers.GetValueOrDefault(v.Index) is ConvLayer { CanWriteStridedOutput: true }).ToArray();
    }
}
