using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Output rows of a channels-last convolution (im2col + GEMM) of one image, computed a few rows at a time through a
/// small unfolded block in the thread's scratch: what the fused layers that start with such a convolution (a stem) run
/// band by band.
/// </summary>
internal static unsafe class UnfoldedRows
{
    // Floats of unfolded rows multiplied at a time: a few rows of the im2col matrix, read back from L1 and L2.
    private const int Floats = 1 << 14;

    /// <summary>Floats of scratch <see cref="Compute"/> needs for this window.</summary>
    public static long ScratchFloats(in Window2D conv) => MemoryPlan.Align((long)Rows(conv) * conv.OutW * Depth(conv));

    /// <summary>
    /// Output rows [<paramref name="from"/>, <paramref name="to"/>) of the convolution of the HWC image
    /// <paramref name="x"/> by <paramref name="stage"/>'s packed weight: y = act(A·B + bias), written at
    /// <paramref name="y"/> + row · OutW · <paramref name="outChannels"/> (y addresses the output's row 0).
    /// </summary>
    public static void Compute(GemmJob gemm, in PointwiseStage stage, in Window2D conv, int outChannels, float* x, float* scratch, int from, int to, float* y)
    {
        int step = Rows(conv), k = Depth(conv);
        if (GemmJob.CanReadWindows(stage.Tactic, k, outChannels, conv.KernelW * conv.Channels) && GemmJob.WindowBandFloats(conv, 1, step) <= ScratchFloats(conv))
        {
            // The windows read from a zero-padded band of the input rows: no unfold (a stem's 3 channels took as long to
            // unfold as to multiply).
            for (int r = from; r < to; r += step)
                gemm.RunWindowRows(stage.Tactic, x, conv, r, Math.Min(to, r + step), scratch, stage.Weights, outChannels, stage.Bias, stage.Activation, y, outChannels);
            return;
        }
        for (int r = from; r < to; r += step)
        {
            int r1 = Math.Min(to, r + step);
            Im2Col.RunChannelsLast(x, conv.Channels, conv, scratch, r * conv.OutW, r1 * conv.OutW);
            gemm.RunOnThisThread(stage.Tactic, scratch, (r1 - r) * conv.OutW, k, stage.Weights, outChannels, stage.Bias, stage.Activation,
                y + (nint)r * conv.OutW * outChannels, outChannels, null);
        }
    }

    // Whole output rows at a time, at least one.
    private static int Rows(in Window2D conv) => Math.Max(1, Floats / (conv.OutW * Depth(conv)));

    private static int Depth(in Window2D conv) => conv.KernelH * conv.KernelW * conv.Channels;
}
