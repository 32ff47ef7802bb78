using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

// TEMP: naive versions, replaced by the conv branch.
public sealed unsafe class PoolJob : IParallelTask
{
    public void Run(PoolKind kind, float* x, float* y, in Window2D w, bool countIncludePad, WorkerPool pool)
    {
        for (int p = 0; p < w.Batch * w.Channels; p++)
            for (int oh = 0; oh < w.OutH; oh++)
                for (int ow = 0; ow < w.OutW; ow++)
                {
                    double acc = kind == PoolKind.Max ? double.NegativeInfinity : 0;
                    int count = 0, padded = 0;
                    for (int i = 0; i < w.KernelH; i++)
                        for (int j = 0; j < w.KernelW; j++)
                        {
                            int ih = oh * w.StrideH - w.PadTop + i * w.DilationH, iw = ow * w.StrideW - w.PadLeft + j * w.DilationW;
                            if (ih >= -w.PadTop && iw >= -w.PadLeft && ih < w.InH + w.PadTop && iw < w.InW + w.PadLeft) padded++;
                            if (ih < 0 || iw < 0 || ih >= w.InH || iw >= w.InW) continue;
                            float v = x[((long)p * w.InH + ih) * w.InW + iw];
                            acc = kind == PoolKind.Max ? Math.Max(acc, v) : acc + v;
                            count++;
                        }
                    y[((long)p * w.OutH + oh) * w.OutW + ow] = (float)(kind == PoolKind.Max ? acc : acc / (countIncludePad ? padded : count));
                }
    }

    void IParallelTask.Execute(int index) { }
}

public static unsafe class GlobalPoolKernels
{
    public static void Average(float* x, float* y, int planes, int planeSize)
    {
        for (int p = 0; p < planes; p++)
        {
            double s = 0;
            for (int i = 0; i < planeSize; i++) s += x[(long)p * planeSize + i];
            y[p] = (float)(s / planeSize);
        }
    }

    public static void Max(float* x, float* y, int planes, int planeSize)
    {
        for (int p = 0; p < planes; p++)
        {
            float m = float.NegativeInfinity;
            for (int i = 0; i < planeSize; i++) m = Math.Max(m, x[(long)p * planeSize + i]);
            y[p] = m;
        }
    }
}

public sealed unsafe class DepthwiseConvJob : IParallelTask
{
    public void Run(float* x, float* weights, float* bias, float* residual, in Activation activation, float* y, in Window2D w, WorkerPool pool)
    {
        for (int n = 0; n < w.Batch; n++)
            for (int c = 0; c < w.Channels; c++)
            {
                long plane = (long)n * w.Channels + c;
                for (int oh = 0; oh < w.OutH; oh++)
                    for (int ow = 0; ow < w.OutW; ow++)
                    {
                        double acc = bias == null ? 0 : bias[c];
                        for (int i = 0; i < w.KernelH; i++)
                            for (int j = 0; j < w.KernelW; j++)
                            {
                                int ih = oh * w.StrideH - w.PadTop + i * w.DilationH, iw = ow * w.StrideW - w.PadLeft + j * w.DilationW;
                                if (ih < 0 || iw < 0 || ih >= w.InH || iw >= w.InW) continue;
                                acc += x[(plane * w.InH + ih) * w.InW + iw] * (double)weights[(c * w.KernelH + i) * w.KernelW + j];
                            }
                        long o = (plane * w.OutH + oh) * w.OutW + ow;
                        if (residual != null) acc += residual[o];
                        y[o] = (float)acc;
                    }
            }
        ActivationKernels.Apply(activation, y, y, (nint)((long)w.Batch * w.Channels * w.OutH * w.OutW));
    }

    void IParallelTask.Execute(int index) { }
}

public sealed unsafe class ChannelEpilogueJob : IParallelTask
{
    public void Run(float* y, int batch, int channels, int planeSize, float* bias, float* residual, in Activation activation, WorkerPool pool)
    {
        for (long p = 0; p < (long)batch * channels; p++)
        {
            float b = bias == null ? 0 : bias[p % channels];
            for (int i = 0; i < planeSize; i++)
            {
                long o = p * planeSize + i;
                y[o] += b + (residual == null ? 0 : residual[o]);
            }
        }
        ActivationKernels.Apply(activation, y, y, (nint)((long)batch * channels * planeSize));
    }

    void IParallelTask.Execute(int index) { }
}

public static unsafe class Im2Col
{
    public static void Run(float* x, int channelsPerGroup, in Window2D w, float* col)
    {
        long cols = (long)w.OutH * w.OutW;
        for (int ci = 0; ci < channelsPerGroup; ci++)
            for (int i = 0; i < w.KernelH; i++)
                for (int j = 0; j < w.KernelW; j++)
                {
                    float* row = col + ((long)(ci * w.KernelH + i) * w.KernelW + j) * cols;
                    for (int oh = 0; oh < w.OutH; oh++)
                        for (int ow = 0; ow < w.OutW; ow++)
                        {
                            int ih = oh * w.StrideH - w.PadTop + i * w.DilationH, iw = ow * w.StrideW - w.PadLeft + j * w.DilationW;
                            row[oh * w.OutW + ow] = ih < 0 || iw < 0 || ih >= w.InH || iw >= w.InW ? 0 : x[((long)ci * w.InH + ih) * w.InW + iw];
                        }
                }
    }
}
