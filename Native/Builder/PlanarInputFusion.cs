using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Drops the reformat to channels-last in front of a first layer whose GEMM reads its windows from a band (a stem:
/// alone, or starting a fused inverted-residual or conv-pool layer): the convolution reads the NCHW tensor and
/// interleaves its planes as it copies each band (<see cref="ConvLayer.PlanarInput"/>). The reformat wrote the whole
/// input out again before the stem read it back (a 224×224 RGB batch of 8: 4.8 MB each way, 3–5% of
/// MobileNetV3-Small's call); the band copy moves the same floats either way. Runs after tactics are chosen and the
/// other fusions: whether the band is read depends on the tactic.
/// </summary>
internal static class PlanarInputFusion
{
    public static List<Layer> Run(List<Layer> layers, IReadOnlyCollection<int> outputs, EngineWeight[] weights, Action<string>? log)
    {
        var consumers = LayerConsumers.Of(layers);
        var dropped = new HashSet<Layer>();
        foreach (var reformat in layers.OfType<ReformatLayer>())
        {
            int y = reformat.Output;
            if (!reformat.ToChannelsLast || outputs.Contains(y) || consumers.GetValueOrDefault(y) is not [var reader]) continue;
            var conv = reader switch
            {
                ConvLayer c => c,
                FusedInvertedResidualLayer { Unfolds: true } f => f.Expand,
                FusedConvPoolLayer f => f.Conv,
                _ => null,
            };
            // The reader takes the tensor as its x (Inputs[0]), for a fused layer its stem's.
            if (conv is not { ChannelsLast: true, Algorithm: ConvAlgorithm.Im2ColGemm, Groups: 1, ChannelScale.IsNone: true }
                || reader.Inputs[0] != ValueRef.Tensor(y) || !ReadsBand(conv, weights[conv.W.Index].Shape))
                continue;
            reader.Inputs[0] = reformat.Inputs[0];
            conv.PlanarInput = true;
            dropped.Add(reformat);
            log?.Invoke($"Convolution '{conv.Name}' reads its input's planes: reformat '{reformat.Name}' dropped.");
        }
        return layers.Where(l => !dropped.Contains(l)).ToList();
    }

    private static bool ReadsBand(ConvLayer conv, int[] weightShape) =>
        GemmJob.CanReadWindows(GemmKernels.Tactics[conv.TacticId], weightShape[1] * conv.KernelH * conv.KernelW, weightShape[0], conv.KernelW * weightShape[1]);
}
