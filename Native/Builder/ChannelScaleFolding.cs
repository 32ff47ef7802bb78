using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Folds a per-image channel scale into the 1×1 convolution that reads the scaled tensor: Mul(D, s) with s [N or 1, C,
/// 1, 1] computed at run time (a squeeze-excitation's sigmoid gate), read only by a channels-last 1×1 GEMM convolution,
/// becomes that convolution reading D with s as its channel scale, which it applies to its weight's rows per image
/// instead of a pass of its own over D, where <paramref name="fold"/> says so. Runs after the layout is chosen (the
/// convolution must be channels-last) and before tactics are timed (they are timed with the scale).
/// </summary>
internal static class ChannelScaleFolding
{
    // The GEMM tactics' row block (Mc): the convolution scales the weight once per block of this many pixels.
    private const int RowBlock = 96;

    /// <summary>
    /// The rule: folding scales K·N weight values per block of up to 96 pixels of an image, where the Mul passes over its
    /// K·pixels values; it pays while the first is at most twice the second. On EfficientNet-B0 (batch 1, two threads,
    /// Mul + convolution against the folded convolution in one process) every block of 14×14 and larger ran faster folded
    /// (1.3–2.4× for the pair), the 7×7 blocks with 192 and 320 outputs 0.9–1.0×.
    /// </summary>
    /// <param name="y">The convolution's output shape [N, outC, H, W].</param>
    public static bool Pays(int[] y)
    {
        long pixels = (long)y[2] * y[3];
        return (pixels + RowBlock - 1) / RowBlock * y[1] <= 2 * pixels;
    }

    public static List<Layer> Run(List<Layer> layers, NetworkDefinition network, List<EngineTensor> tensors, IReadOnlyCollection<int> outputs,
        Func<ConvLayer, bool> fold, ShapeProbes probes)
    {
        var consumers = LayerConsumers.Of(layers);
        var removed = new HashSet<Layer>();
        foreach (var layer in layers)
        {
            if (layer is not ElementwiseLayer { Operation: BinaryOp.Mul, ChannelsLast: true } mul || outputs.Contains(mul.Output)
                || !consumers.TryGetValue(mul.Output, out var readers) || readers is not [ConvLayer conv]
                || conv.X != ValueRef.Tensor(mul.Output) || !conv.ChannelsLast || conv.Groups != 1 || !conv.ChannelScale.IsNone
                || conv.RuleAlgorithm(network.Weights[conv.W.Index].Shape) != ConvAlgorithm.PointwiseGemm
                || Operands(mul, tensors, probes) is not var (image, scale) || !fold(conv))
                continue;
            conv.Inputs[0] = image;
            conv.Inputs[4] = scale;
            conv.Origins = [.. mul.Origins, .. conv.Origins];
            removed.Add(mul);
        }
        return layers.Where(l => !removed.Contains(l)).ToList();
    }

    /// <summary>
    /// The full-size operand and the per-channel scale computed at run time, or null if the Mul is not of that form. The
    /// scale's batch and channels must be static, or fit the image at every probe of the profiles: a scale of batch 'm'
    /// may meet an image of batch 'n' as 3 and 1 (two inputs, or the first image sliced from an input and a scale of
    /// all of them), and the Mul broadcast the image.
    /// </summary>
    private static (ValueRef Image, ValueRef Scale)? Operands(ElementwiseLayer mul, List<EngineTensor> tensors, ShapeProbes probes)
    {
        if (mul.Inputs.Any(v => v.IsWeight)) return null;
        int[] y = tensors[mul.Output].Dims;
        for (int i = 0; i < 2; i++)
        {
            ValueRef image = mul.Inputs[i], scale = mul.Inputs[1 - i];
            if (tensors[image.Index].Dims.AsSpan().SequenceEqual(y) && tensors[scale.Index].Dims is [var n, var c, 1, 1] && (n == 1 || n == y[0]) && c == y[1]
                && ((n >= 0 && c >= 0) || Fits(probes, image.Index, scale.Index, mul.Output)))
                return (image, scale);
        }
        return null;
    }

    /// <summary>At every probe: the image is the product's shape, and the scale one value per channel of it, per image or for all.</summary>
    private static bool Fits(ShapeProbes probes, int image, int scale, int product) => probes.Holds(shapes =>
        shapes[image] is { } x && shapes[scale] is [var n, var c, 1, 1] && x.AsSpan().SequenceEqual(shapes[product]) && (n == 1 || n == x[0]) && c == x[1]);
}
