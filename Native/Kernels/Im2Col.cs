using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Unfolds one image and one group of an NCHW input into the [C·KH·KW, OutH·OutW] matrix a GEMM convolution reads, or
/// one image of a channels-last input (or, for a channels-last convolution, of a planar one) into the [OutH·OutW, KH·KW·C] matrix.
/// </summary>
public static unsafe class Im2Col
{
    /// <summary>
    /// col[(ci·KernelH + i)·KernelW + j, oh·OutW + ow] = x[ci, oh·StrideH − PadTop + i·DilationH, ow·StrideW − PadLeft +
    /// j·DilationW], 0 outside the input; x points at the group's first input channel, ci runs over channelsPerGroup.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* x, int channelsPerGroup, in Window2D w, float* col)
    {
        int outW = w.OutW, inW = w.InW, stride = w.StrideW;
        for (int ci = 0; ci < channelsPerGroup; ci++)
        {
            float* plane = x + (nint)ci * w.InH * inW;
            for (int i = 0; i < w.KernelH; i++)
            {
                for (int j = 0; j < w.KernelW; j++)
                {
                    // Outputs [owStart, owEnd) read real columns; the rest of each row is padding.
                    int offset = j * w.DilationW - w.PadLeft;
                    int owStart = Math.Min(outW, offset >= 0 ? 0 : (-offset + stride - 1) / stride);
                    int owEnd = inW - offset <= 0 ? 0 : Math.Clamp((inW - offset + stride - 1) / stride, owStart, outW);
                    owStart = Math.Min(owStart, owEnd);
                    // Stride 2 copies 8 outputs from 16 inputs while those stay inside the row (2·ow ≤ vectorLimit).
                    int vectorLimit = stride == 2 && VectorMath.IsSupported ? inW - offset - 16 : -1;
                    for (int oh = 0; oh < w.OutH; oh++, col += outW)
                    {
                        int ih = oh * w.StrideH - w.PadTop + i * w.DilationH;
                        if ((uint)ih >= (uint)w.InH)
                        {
                            new Span<float>(col, outW).Clear();
                            continue;
                        }
                        // Rows of a few floats (a grouped convolution's 7×7 and 14×14 planes) copy and clear inline:
                        // a call per piece took most of the time there.
                        for (int ow = 0; ow < owStart; ow++) col[ow] = 0f;
                        float* source = plane + (nint)ih * inW + offset;
                        if (stride == 1)
                            CopyKernels.Copy(source + owStart, col + owStart, owEnd - owStart);
                        else
                        {
                            int ow = owStart;
                            for (; ow + 8 <= owEnd && 2 * ow <= vectorLimit; ow += 8)
                                Avx.Store(col + ow, Stride2Loader.Order(Stride2Loader.Load(source + 2 * (nint)ow)));
                            for (; ow < owEnd; ow++)
                                col[ow] = source[(nint)ow * stride];
                        }
                        for (int ow = owEnd; ow < outW; ow++) col[ow] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>
    /// col[p − first, (i·KernelW + j)·C + c] = x[oh·StrideH − PadTop + i·DilationH, ow·StrideW − PadLeft + j·DilationW, c]
    /// for the output pixels p = oh·OutW + ow in [first, end), 0 outside the input; x is one HWC image (or its planes, where
    /// <see cref="Window2D.PlanarInput"/>). Each tap of an HWC image copies a contiguous run of C floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunChannelsLast(float* x, int channels, in Window2D w, float* col, int first, int end)
    {
        // A planar input (a first layer whose band did not fit) gathers each tap's channels from the planes.
        if (w.PlanarInput)
        {
            Gather(x, 1, (nint)w.InH * w.InW, channels, w, col, first, end);
            return;
        }
        // Undilated taps of one kernel row are adjacent pixels: one copy of KernelW·C floats when all lie inside.
        nint rowRun = w.DilationW == 1 ? w.KernelW * channels : 0;
        nint pixelFloats = (nint)w.KernelH * w.KernelW * channels, rowStep = (nint)w.DilationH * w.InW * channels;
        // Pixel by pixel along output rows: a first layer's few channels make each pixel's work a handful of vector
        // moves, which a division and bounds checks per kernel row would outweigh.
        int oh = first / w.OutW, ow = first - oh * w.OutW;
        for (int p = first; p < end; oh++, ow = 0)
        {
            int top = oh * w.StrideH - w.PadTop;
            bool rowsInside = rowRun > 0 && top >= 0 && top + (w.KernelH - 1) * w.DilationH < w.InH;
            for (int rowEnd = Math.Min(end, p + w.OutW - ow); p < rowEnd; p++, ow++, col += pixelFloats)
            {
                int left = ow * w.StrideW - w.PadLeft;
                if (rowsInside && left >= 0 && left + w.KernelW <= w.InW)
                {
                    float* source = x + ((nint)top * w.InW + left) * channels;
                    for (int i = 0; i < w.KernelH; i++) CopyKernels.Copy(source + i * rowStep, col + i * rowRun, rowRun);
                    continue;
                }
                Pixel(x, channels, w, col, top, left, rowRun);
            }
        }
    }

    /// <summary>
    /// As <see cref="RunChannelsLast"/> for one group of a grouped convolution: col[p − first, t·Cg + c] = the value of
    /// channel <paramref name="group"/>·Cg + c at tap t (Cg = C / groups), the rows that group's GEMM reads.
    /// </summary>
    public static void RunChannelsLastGroup(float* x, int channels, int groups, int group, in Window2D w, float* col, int first, int end)
    {
        int perGroup = channels / groups;
        Gather(x + (nint)group * perGroup, channels, 1, perGroup, w, col, first, end);
    }

    /// <summary>
    /// col[p − first, t·C + c] = the value of channel c at tap t, 0 outside the input, for pixels p in [first, end): each
    /// tap takes <paramref name="count"/> channels <paramref name="channelStride"/> floats apart from the pixel's place
    /// (pixels <paramref name="pixelStride"/> floats apart): a group's few channels of an HWC image, or the channels of
    /// an image's planes (<see cref="Window2D.PlanarInput"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather(float* x, int pixelStride, nint channelStride, int count, in Window2D w, float* col, int first, int end)
    {
        for (int p = first; p < end; p++)
        {
            int oh = p / w.OutW, ow = p - oh * w.OutW;
            for (int i = 0; i < w.KernelH; i++)
            {
                int ih = oh * w.StrideH - w.PadTop + i * w.DilationH;
                for (int j = 0; j < w.KernelW; j++, col += count)
                {
                    int iw = ow * w.StrideW - w.PadLeft + j * w.DilationW;
                    bool inside = (uint)ih < (uint)w.InH && (uint)iw < (uint)w.InW;
                    float* source = x + ((nint)ih * w.InW + iw) * pixelStride;
                    // A group's piece is a few floats (8 in RegNetY); a plane's values lie a plane apart.
                    if (channelStride == 1) CopyKernels.CopyOrClear(source, col, count, inside);
                    else
                        for (int c = 0; c < count; c++) col[c] = inside ? source[c * channelStride] : 0f;
                }
            }
        }
    }

    /// <summary>One output pixel's row of the unfolded matrix, taps outside the input zero.</summary>
    private static void Pixel(float* x, int channels, in Window2D w, float* col, int top, int left, nint rowRun)
    {
        bool inside = rowRun > 0 && left >= 0 && left + w.KernelW <= w.InW;
        for (int i = 0; i < w.KernelH; i++)
        {
            int ih = top + i * w.DilationH;
            if (inside && (uint)ih < (uint)w.InH)
            {
                CopyKernels.Copy(x + ((nint)ih * w.InW + left) * channels, col, rowRun);
                col += w.KernelW * channels;
                continue;
            }
            for (int j = 0; j < w.KernelW; j++, col += channels)
            {
                int iw = left + j * w.DilationW;
                if ((uint)ih < (uint)w.InH && (uint)iw < (uint)w.InW)
                    CopyKernels.Copy(x + ((nint)ih * w.InW + iw) * channels, col, channels);
                else
                    new Span<float>(col, channels).Clear();
            }
        }
    }
}
