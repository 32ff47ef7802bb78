using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>Seeded random window geometries and naive double-precision window references.</summary>
internal static class WindowCases
{
    /// <summary>Activations the convolution kernels fuse: the clamps they apply in registers and others applied per row.</summary>
    public static readonly Activation[] Activations =
    [
        new(ActivationKind.Identity), new(ActivationKind.Relu), new(ActivationKind.Clip, 0f, 6f),
        new(ActivationKind.HardSwish), new(ActivationKind.Sigmoid), new(ActivationKind.LeakyRelu, 0.1f),
    ];

    /// <summary>
    /// Odd sizes 1..17, kernels 1..5, strides 1..3, dilations 1..2, asymmetric pads, floor or ceil output sizes
    /// (ceil windows run past the bottom/right pad), batch 1..3.
    /// </summary>
    public static IEnumerable<Window2D> Random(int seed, int count, int maxChannels = 5)
    {
        var random = new Random(seed);
        for (int made = 0; made < count;)
        {
            int kh = random.Next(1, 6), kw = random.Next(1, 6), dh = random.Next(1, 3), dw = random.Next(1, 3);
            int sh = random.Next(1, 4), sw = random.Next(1, 4), inH = random.Next(1, 18), inW = random.Next(1, 18);
            int effH = (kh - 1) * dh + 1, effW = (kw - 1) * dw + 1;
            // Pads stay below the window so every window has a real input position, as ONNX requires.
            int pt = random.Next(0, effH), pb = random.Next(0, effH), pl = random.Next(0, effW), pr = random.Next(0, effW);
            bool ceil = random.Next(2) == 1;
            int outH = OutSize(inH, pt, pb, effH, sh, ceil), outW = OutSize(inW, pl, pr, effW, sw, ceil);
            if (outH < 1 || outW < 1)
                continue;
            made++;
            yield return new Window2D(random.Next(1, 4), random.Next(1, maxChannels + 1), inH, inW, outH, outW,
                kh, kw, sh, sw, pt, pl, dh, dw, pb, pr);
        }
    }

    /// <summary>ONNX output size; with ceil_mode the last window must still start inside the input or the leading pad.</summary>
    public static int OutSize(int input, int padBegin, int padEnd, int effectiveKernel, int stride, bool ceil)
    {
        int span = input + padBegin + padEnd - effectiveKernel;
        if (span < 0)
            return 0;
        int size = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceil && (size - 1) * stride >= input + padBegin)
            size--;
        return size;
    }

    public static Window2D Square(int channels, int size, int kernel, int stride, int pad, int batch = 1)
    {
        int outSize = OutSize(size, pad, pad, kernel, stride, ceil: false);
        return new Window2D(batch, channels, size, size, outSize, outSize, kernel, kernel, stride, stride, pad, pad, 1, 1, pad, pad);
    }

    public static int InputLength(in Window2D w) => w.Batch * w.Channels * w.InH * w.InW;

    public static int OutputLength(in Window2D w) => w.Batch * w.Channels * w.OutH * w.OutW;

    /// <summary>Input value at (plane, ih, iw), or null for padding.</summary>
    public static float? At(float[] x, in Window2D w, int plane, int ih, int iw) =>
        ih < 0 || ih >= w.InH || iw < 0 || iw >= w.InW ? null : x[(plane * w.InH + ih) * w.InW + iw];

    public static double[] Depthwise(float[] x, float[] weights, float[]? bias, float[]? residual, Activation activation, Window2D w)
    {
        var y = new double[OutputLength(w)];
        for (int plane = 0; plane < w.Batch * w.Channels; plane++)
        {
            int c = plane % w.Channels;
            for (int oh = 0; oh < w.OutH; oh++)
            {
                for (int ow = 0; ow < w.OutW; ow++)
                {
                    double sum = bias?[c] ?? 0;
                    for (int i = 0; i < w.KernelH; i++)
                    {
                        for (int j = 0; j < w.KernelW; j++)
                        {
                            var v = At(x, w, plane, oh * w.StrideH - w.PadTop + i * w.DilationH, ow * w.StrideW - w.PadLeft + j * w.DilationW);
                            sum += (double)(v ?? 0f) * weights[(c * w.KernelH + i) * w.KernelW + j];
                        }
                    }
                    int index = (plane * w.OutH + oh) * w.OutW + ow;
                    sum += residual?[index] ?? 0;
                    y[index] = ActivationKernelsTests.Expected(activation, sum);
                }
            }
        }
        return y;
    }

    /// <summary>ONNX Runtime's pooling: the include-pad count stops at the padded extent; empty windows give MinValue or 0.</summary>
    public static double[] Pool(float[] x, PoolKind kind, bool countIncludePad, Window2D w)
    {
        var y = new double[OutputLength(w)];
        for (int plane = 0; plane < w.Batch * w.Channels; plane++)
        {
            for (int oh = 0; oh < w.OutH; oh++)
            {
                for (int ow = 0; ow < w.OutW; ow++)
                {
                    int hs = oh * w.StrideH - w.PadTop, ws = ow * w.StrideW - w.PadLeft;
                    double max = double.NegativeInfinity, sum = 0;
                    int real = 0, counted = 0;
                    for (int i = 0; i < w.KernelH; i++)
                    {
                        for (int j = 0; j < w.KernelW; j++)
                        {
                            int ih = hs + i * w.DilationH, iw = ws + j * w.DilationW;
                            if (ih < w.InH + w.PadBottom && iw < w.InW + w.PadRight)
                                counted++;
                            if (At(x, w, plane, ih, iw) is float v)
                            {
                                real++;
                                sum += v;
                                max = Math.Max(max, v);
                            }
                        }
                    }
                    y[(plane * w.OutH + oh) * w.OutW + ow] = real == 0 ? (kind == PoolKind.Max ? float.MinValue : 0)
                        : kind == PoolKind.Max ? max : sum / (countIncludePad ? counted : real);
                }
            }
        }
        return y;
    }
}
