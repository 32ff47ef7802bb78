using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Recognises the channel shuffle as exporters write it — Reshape [N, C, H, W] → [N, g, C/g, H, W], Transpose
/// (0, 2, 1, 3, 4), Reshape back to [N, C, H, W] — and replaces it by one <see cref="ChannelShuffleLayer"/>, which
/// also runs channels-last. The shuffle reads the inputs of a channel Concat of g equal parts directly, and a channel
/// Slice of the shuffle whose ends fall on whole groups becomes a shuffle of its own, so ShuffleNet's
/// concat → shuffle → split moves each value once. Layers left without readers are dropped later as dead.
/// </summary>
internal static class ChannelShuffleFusion
{
    public static List<Layer> Run(List<Layer> layers, NetworkDefinition network)
    {
        var producers = new Dictionary<int, Layer>();
        // Each absorbed shuffle's origins go to the first slice taking its place, so every model layer counts once.
        var claimed = new HashSet<ChannelShuffleLayer>();
        var result = new List<Layer>(layers.Count);
        foreach (var layer in layers)
        {
            var fused = Shuffle(layer) ?? SliceOfShuffle(layer) ?? layer;
            producers[fused.Output] = fused;
            result.Add(fused);
        }
        return result;

        int[] Dims(ValueRef v) => network.Tensors[v.Index].Dims;
        Layer? Producer(ValueRef v) => v.IsWeight || v.IsNone ? null : producers.GetValueOrDefault(v.Index);

        ChannelShuffleLayer? Shuffle(Layer layer)
        {
            if (layer is not ReshapeLayer { Mode: ReshapeMode.Reshape } back || Producer(back.Inputs[0]) is not TransposeLayer { Perm: [0, 2, 1, 3, 4] } transpose ||
                Producer(transpose.Inputs[0]) is not ReshapeLayer { Mode: ReshapeMode.Reshape } split) return null;
            var x = split.Inputs[0];
            // Only the batch may be dynamic: the element counts then tie every batch dim to x's.
            if (x.IsWeight || Dims(x) is not [_, var c, var h, var w] || Dims(ValueRef.Tensor(split.Output)) is not [_, var g, var j, var h1, var w1] ||
                !Shapes.IsStatic([c, h, w]) || g < 1 || j < 1 || (long)g * j != c || h1 != h || w1 != w || g > ChannelShuffleLayer.MaxGroups ||
                !Dims(ValueRef.Tensor(back.Output)).AsSpan(1).SequenceEqual(Dims(x).AsSpan(1))) return null;
            ValueRef[] inputs = [x];
            string[] origins = [.. split.Origins, .. transpose.Origins, .. back.Origins];
            if (Producer(x) is ConcatLayer { Axis: 1 or -3 } concat && concat.Inputs.Length == g && concat.Inputs.All(v => !v.IsWeight && Dims(v).Length == 4 && Dims(v)[1] == j))
            {
                inputs = [.. concat.Inputs];
                origins = [.. concat.Origins, .. origins];
            }
            return new ChannelShuffleLayer(transpose.Name, inputs, g, 0, j) { Output = back.Output, Origins = origins };
        }

        ChannelShuffleLayer? SliceOfShuffle(Layer layer)
        {
            if (layer is not SliceLayer { Axes: [1 or -3], Steps: [1] } slice || Producer(slice.Inputs[0]) is not ChannelShuffleLayer shuffle) return null;
            var (start, count) = slice.Range(0, shuffle.Groups * shuffle.Count);
            if (count == 0 || start % shuffle.Groups != 0 || count % shuffle.Groups != 0) return null;
            return new ChannelShuffleLayer(slice.Name, [.. shuffle.Inputs], shuffle.Groups, shuffle.Start + (int)(start / shuffle.Groups), (int)(count / shuffle.Groups))
            {
                Output = slice.Output,
                Origins = claimed.Add(shuffle) ? [.. shuffle.Origins, .. slice.Origins] : slice.Origins,
            };
        }
    }
}
