using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Chooses the memory layout of 4-D activations: convolutions with a channels-last kernel start a channels-last
/// (NHWC) region, which pools, activations, BatchNormalizations, same-shape elementwise layers, channel concats, channel
/// shuffles and 4-D slices extend; a mean or max over H and W ends it without a reformat. A reformat
/// layer is inserted only where a tensor crosses the region's edge (network inputs, Flatten/Reshape/Gemm and other
/// layers without a channels-last form); network outputs always stay NCHW. Tensor shapes stay logical NCHW.
/// </summary>
internal static class ChannelsLastLayout
{
    public static List<Layer> Run(List<Layer> layers, NetworkDefinition network, List<EngineTensor> tensors, IReadOnlyCollection<int> outputs)
    {
        var channelsLast = new HashSet<int>();
        // A tensor's copy in the other layout, made once by a reformat layer and shared by its readers.
        var copies = new Dictionary<(int Tensor, bool ToChannelsLast), int>();
        var result = new List<Layer>(layers.Count);

        ValueRef As(ValueRef v, bool wantChannelsLast)
        {
            if (v.IsNone || v.IsWeight || channelsLast.Contains(v.Index) == wantChannelsLast || IsPerChannel(tensors[v.Index].Dims)) return v;
            if (!copies.TryGetValue((v.Index, wantChannelsLast), out int copy))
            {
                var source = tensors[v.Index];
                copy = tensors.Count;
                tensors.Add(new EngineTensor($"{source.Name}{(wantChannelsLast ? ":nhwc" : ":nchw")}", source.Dims));
                var reformat = new ReformatLayer($"reformat {source.Name} to {(wantChannelsLast ? "NHWC" : "NCHW")}", v, wantChannelsLast)
                {
                    Output = copy,
                    Origins = [],
                };
                result.Add(reformat);
                copies.Add((v.Index, wantChannelsLast), copy);
                if (wantChannelsLast) channelsLast.Add(copy);
            }
            return ValueRef.Tensor(copy);
        }

        foreach (var layer in layers)
        {
            bool run = !outputs.Contains(layer.Output) && RunsChannelsLast(layer, network, tensors, channelsLast);
            for (int i = 0; i < layer.Inputs.Length; i++) layer.Inputs[i] = As(layer.Inputs[i], run);
            switch (layer)
            {
                case ConvLayer conv: conv.ChannelsLast = run; break;
                case PoolLayer pool: pool.ChannelsLast = run; break;
                case ConcatLayer concat: concat.ChannelsLast = run; break;
                case ElementwiseLayer elementwise: elementwise.ChannelsLast = run; break;
                case ChannelShuffleLayer shuffle: shuffle.ChannelsLast = run; break;
                case SliceLayer slice: slice.ChannelsLast = run; break;
                case ReduceLayer reduce: reduce.ChannelsLast = run; break;
                case BatchNormLayer batchNorm: batchNorm.ChannelsLast = run; break;
            }
            // A reduce over H and W leaves per-channel values, the same memory in either layout.
            if (run && layer is not ReduceLayer) channelsLast.Add(layer.Output);
            result.Add(layer);
        }
        return result;
    }

    /// <summary>Whether the layer has a channels-last form worth running, given which of its inputs are channels-last.</summary>
    private static bool RunsChannelsLast(Layer layer, NetworkDefinition network, List<EngineTensor> tensors, HashSet<int> channelsLast)
    {
        bool Is4D(ValueRef v) => !v.IsNone && !v.IsWeight && tensors[v.Index].Dims.Length == 4;
        bool AnyChannelsLast() => layer.Inputs.Any(v => !v.IsNone && !v.IsWeight && channelsLast.Contains(v.Index));
        return layer switch
        {
            ConvLayer conv => Is4D(conv.X) && conv.W.IsWeight && conv.SupportsChannelsLast(network.Weights[conv.W.Index].Shape),
            PoolLayer pool => Is4D(pool.Inputs[0]) && channelsLast.Contains(pool.Inputs[0].Index),
            ActivationLayer activation => channelsLast.Contains(activation.Inputs[0].Index),
            BatchNormLayer batchNorm => Is4D(batchNorm.Inputs[0]) && channelsLast.Contains(batchNorm.Inputs[0].Index),
            // Broadcasting runs over memory-order dims: an operand is either full-size or per-channel (H = W = 1).
            ElementwiseLayer op => tensors[op.Output].Dims is { Length: 4 } y && AnyChannelsLast() &&
                                   op.Inputs.All(v => (Is4D(v) && SameShape(tensors[v.Index].Dims, y)) || IsPerChannel(v.IsWeight ? network.Weights[v.Index].Shape : tensors[v.Index].Dims)),
            ConcatLayer concat => concat.Axis is 1 or -3 && concat.Inputs.All(Is4D) && AnyChannelsLast(),
            ChannelShuffleLayer => AnyChannelsLast(),
            SliceLayer slice => Is4D(slice.Inputs[0]) && channelsLast.Contains(slice.Inputs[0].Index),
            ReduceLayer reduce => Is4D(reduce.Inputs[0]) && channelsLast.Contains(reduce.Inputs[0].Index) && reduce.IsSpatialPool(4),
            _ => false,
        };
    }

    /// <summary>
    /// At most 4-D with H and W (right-aligned) equal to 1: the same memory in NCHW and NHWC, so it needs no reformat.
    /// </summary>
    private static bool IsPerChannel(int[] dims) => dims.Length is >= 1 and <= 4 && dims[^1] == 1 && (dims.Length < 2 || dims[^2] == 1);

    /// <summary>Equal dims, where only the batch may be dynamic (both inputs then come from the same batch).</summary>
    private static bool SameShape(int[] a, int[] b) => a.AsSpan().SequenceEqual(b) && a.Skip(1).All(d => d >= 0);
}
