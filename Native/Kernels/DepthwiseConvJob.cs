using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Depthwise convolution (groups == channels, one KernelH×KernelW filter per channel) over NCHW float32 with fused
/// per-channel bias, residual add and activation. One instance per engine layer, reused for every call; not
/// thread-safe. Vectorised along the output width for strides 1 and 2; 3×3 undilated windows copy each block of input
/// rows into zero-padded scratch so every output takes the unmasked unrolled kernel. Scalar otherwise.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class DepthwiseConvJob : IParallelTask
{
    // Output rows per padded block: keeps a block's input rows in L1 while bounding the rows re-copied at block edges.
    private const int BlockFloats = 4096;

    // The call in progress, read by the workers.
    private float* _x, _weights, _bias, _residual, _y;
    private Activation _activation;
    private Window2D _window;
    private RowSchedule _schedule;

    // Zero-padded input rows, one slot per chunk (chunks never run concurrently with themselves); grown, never shrunk.
    private float[] _scratch = [];
    private int _slot, _paddedW, _blockRows;

    /// <summary>
    /// y = act(conv(x, weights) + bias + residual). weights is [Channels, KernelH·KernelW]; bias is null or
    /// [Channels]; residual is null or shaped like y.
    /// </summary>
    public void Run(float* x, float* weights, float* bias, float* residual, in Activation activation, float* y,
        in Window2D w, WorkerPool pool)
    {
        _x = x;
        _weights = weights;
        _bias = bias;
        _residual = residual;
        _activation = activation;
        _y = y;
        _window = w;
        int planes = w.Batch * w.Channels;
        _schedule.Plan(planes, w.OutH, (long)planes * w.OutH * w.OutW * w.KernelH * w.KernelW, pool.ThreadCount);
        if (_schedule.Chunks > 0 && UsesPadded(w))
            PlanScratch(w, w.StrideW == 1 ? Stride1Loader.ReadSpan : Stride2Loader.ReadSpan);
        pool.For(_schedule.Chunks, this);
    }

    /// <summary>3×3 undilated with width stride 1 or 2: every output goes through the unmasked padded kernel.</summary>
    private static bool UsesPadded(in Window2D w) => VectorMath.IsSupported && w.KernelH == 3 && w.KernelW == 3 &&
        w.DilationH == 1 && w.DilationW == 1 && (w.StrideW == 1 || w.StrideW == 2);

    private void PlanScratch(in Window2D w, int readSpan)
    {
        // Wide enough for the padded row and for the whole last block of 8 outputs, whose loads may run past it.
        int lastBlock = (w.OutW - 1) / 8 * 8 * w.StrideW;
        _paddedW = Math.Max(w.InW + w.PadLeft + w.PadRight, lastBlock + 2 + readSpan);
        _blockRows = Math.Clamp(BlockFloats / (_paddedW * w.StrideH), 1, w.OutH);
        _slot = ((_blockRows - 1) * w.StrideH + 3) * _paddedW;
        long needed = (long)_slot * _schedule.Chunks;
        if (_scratch.Length < needed)
            _scratch = GC.AllocateUninitializedArray<float>((int)needed, pinned: true);
    }

    void IParallelTask.Execute(int index)
    {
        if (UsesPadded(_window))
        {
            fixed (float* scratch = &_scratch[index * _slot])
            {
                if (_window.StrideW == 1)
                    _schedule.Run(new PaddedRows<Stride1Loader>(this, scratch));
                else
                    _schedule.Run(new PaddedRows<Stride2Loader>(this, scratch));
            }
        }
        else
            _schedule.Run(new GeneralRows(this));
    }

    private readonly struct PaddedRows<TLoader>(DepthwiseConvJob job, float* scratch) : IRowTask
        where TLoader : struct, IWidthLoader
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunRows(int plane, int row0, int row1)
        {
            var w = job._window;
            var p = new Plane(job, plane);
            for (int oh = row0; oh < row1; oh += job._blockRows)
            {
                int end = Math.Min(row1, oh + job._blockRows);
                PadRows(w, p.X, oh * w.StrideH - w.PadTop, (end - oh - 1) * w.StrideH + 3, scratch, job._paddedW);
                Padded3x3<TLoader>(w, scratch, job._paddedW, p.Kernel, p.Bias, p.Residual, job._activation, p.Y, oh, end);
            }
        }
    }

    private readonly struct GeneralRows(DepthwiseConvJob job) : IRowTask
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunRows(int plane, int row0, int row1)
        {
            var w = job._window;
            var p = new Plane(job, plane);
            if (VectorMath.IsSupported && w.StrideW == 1)
                VectorRows<Stride1Loader>(w, p.X, p.Kernel, p.Bias, p.Residual, job._activation, p.Y, row0, row1);
            else if (VectorMath.IsSupported && w.StrideW == 2)
                VectorRows<Stride2Loader>(w, p.X, p.Kernel, p.Bias, p.Residual, job._activation, p.Y, row0, row1);
            else
                ScalarRows(w, p.X, p.Kernel, p.Bias, p.Residual, job._activation, p.Y, row0, row1);
        }
    }

    /// <summary>Where one plane (image n, channel c: plane n·Channels + c) of the call in progress lies: input, output, residual, filter and bias.</summary>
    private readonly struct Plane
    {
        public readonly float* X, Y, Residual, Kernel;
        public readonly float Bias;

        public Plane(DepthwiseConvJob job, int plane)
        {
            var w = job._window;
            int channel = plane % w.Channels;
            nint outPlane = (nint)w.OutH * w.OutW;
            X = job._x + plane * (nint)w.InH * w.InW;
            Y = job._y + plane * outPlane;
            Residual = job._residual == null ? null : job._residual + plane * outPlane;
            Kernel = job._weights + (nint)channel * w.KernelH * w.KernelW;
            Bias = job._bias == null ? 0f : job._bias[channel];
        }
    }

    /// <summary>Copies input rows [ih0, ih0 + count) into rows of width paddedW at column PadLeft, zero elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadRows(in Window2D w, float* x, int ih0, int count, float* rows, int paddedW)
    {
        // Inline vector stores rather than Span.Clear/MemoryCopy calls: MobileNet rows are only 7 to 112 floats.
        int inW = w.InW, full = inW & ~7;
        var tail = Lanes.First(inW - full);
        for (int r = 0; r < count; r++, rows += paddedW)
        {
            // Zero the row (the last store overlaps, never past the row: paddedW ≥ 10), then copy the input over it.
            for (int c = 0; c < paddedW; c += 8)
                Avx.Store(rows + Math.Min(c, paddedW - 8), Vector256<float>.Zero);
            int ih = ih0 + r;
            if ((uint)ih >= (uint)w.InH)
                continue;
            float* source = x + (nint)ih * inW, target = rows + w.PadLeft;
            for (int c = 0; c < full; c += 8)
                Avx.Store(target + c, Avx.LoadVector256(source + c));
            if (full < inW)
                Avx.MaskStore(target + full, tail, Avx.MaskLoad(source + full, tail));
        }
    }

    /// <summary>Output rows [oh0, oh1) from padded input rows starting at input row oh0·StrideH − PadTop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Padded3x3<TLoader>(in Window2D w, float* rows, int paddedW, float* kernel, float bias,
        float* residual, in Activation activation, float* y, int oh0, int oh1) where TLoader : struct, IWidthLoader
    {
        int outW = w.OutW, stride = TLoader.Stride, full = outW & ~7;
        var k00 = Vector256.Create(kernel[0]); var k01 = Vector256.Create(kernel[1]); var k02 = Vector256.Create(kernel[2]);
        var k10 = Vector256.Create(kernel[3]); var k11 = Vector256.Create(kernel[4]); var k12 = Vector256.Create(kernel[5]);
        var k20 = Vector256.Create(kernel[6]); var k21 = Vector256.Create(kernel[7]); var k22 = Vector256.Create(kernel[8]);
        var b = Vector256.Create(bias);
        var tail = Lanes.First(outW - full);
        var low = Vector256.Create(activation.Alpha);
        var high = Vector256.Create(activation.Beta);
        for (int oh = oh0; oh < oh1; oh++)
        {
            float* r0 = rows + (nint)(oh - oh0) * w.StrideH * paddedW, r1 = r0 + paddedW, r2 = r1 + paddedW;
            float* yRow = y + (nint)oh * outW;
            float* residualRow = residual == null ? null : residual + (nint)oh * outW;
            // The scratch is wide enough that the partial last block reads in bounds; only its store is masked.
            for (int ow = 0; ow < outW; ow += 8)
            {
                nint iw = (nint)ow * stride;
                // One short chain per kernel row keeps FMA latency off the critical path.
                var a0 = Fma.MultiplyAdd(TLoader.Load(r0 + iw), k00, b);
                var a1 = Avx.Multiply(TLoader.Load(r1 + iw), k10);
                var a2 = Avx.Multiply(TLoader.Load(r2 + iw), k20);
                a0 = Fma.MultiplyAdd(TLoader.Load(r0 + iw + 1), k01, a0);
                a1 = Fma.MultiplyAdd(TLoader.Load(r1 + iw + 1), k11, a1);
                a2 = Fma.MultiplyAdd(TLoader.Load(r2 + iw + 1), k21, a2);
                a0 = Fma.MultiplyAdd(TLoader.Load(r0 + iw + 2), k02, a0);
                a1 = Fma.MultiplyAdd(TLoader.Load(r1 + iw + 2), k12, a1);
                a2 = Fma.MultiplyAdd(TLoader.Load(r2 + iw + 2), k22, a2);
                var sum = TLoader.Order(Avx.Add(a0, Avx.Add(a1, a2)));
                if (ow < full)
                {
                    if (residualRow != null)
                        sum = Avx.Add(sum, Avx.LoadVector256(residualRow + ow));
                    Avx.Store(yRow + ow, Activate(activation, low, high, sum));
                }
                else
                {
                    if (residualRow != null)
                        sum = Avx.Add(sum, Avx.MaskLoad(residualRow + ow, tail));
                    Avx.MaskStore(yRow + ow, tail, Activate(activation, low, high, sum));
                }
            }
        }
    }

    /// <summary>
    /// Clip (ReLU6) and Relu inline with bounds hoisted by the caller; the general per-vector activation is a call
    /// through a switch, which costs as much as the convolution on small planes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Activate(in Activation activation, Vector256<float> low, Vector256<float> high,
        Vector256<float> x) => activation.Kind switch
    {
        ActivationKind.Clip => VectorMath.Min(high, VectorMath.Max(low, x)),
        ActivationKind.Relu => VectorMath.Max(Vector256<float>.Zero, x),
        ActivationKind.Identity => x,
        _ => ActivationKernels.Apply(activation, x),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VectorRows<TLoader>(in Window2D w, float* x, float* kernel, float bias, float* residual,
        in Activation activation, float* y, int row0, int row1) where TLoader : struct, IWidthLoader
    {
        int stride = TLoader.Stride, outW = w.OutW, inW = w.InW;
        // Blocks of 8 outputs starting at ow ≥ firstInside whose reads stay inside the row need no masks.
        int firstInside = Math.Min(outW, (w.PadLeft + stride - 1) / stride);
        int lastRead = -w.PadLeft + (w.KernelW - 1) * w.DilationW + TLoader.ReadSpan - 1;
        for (int oh = row0; oh < row1; oh++)
        {
            int ih0 = oh * w.StrideH - w.PadTop;
            float* yRow = y + (nint)oh * outW;
            float* residualRow = residual == null ? null : residual + (nint)oh * outW;
            int ow = 0;
            while (ow < outW)
            {
                if (ow >= firstInside && ow + 8 <= outW && ow * stride + lastRead < inW)
                {
                    int end = ow + 8;
                    while (end + 8 <= outW && end * stride + lastRead < inW)
                        end += 8;
                    Inner<TLoader>(w, x, ih0, kernel, bias, residualRow, activation, yRow, ow, end);
                    ow = end;
                }
                else
                {
                    int count = Math.Min(8, (ow < firstInside ? firstInside : outW) - ow);
                    Edge<TLoader>(w, x, ih0, kernel, bias, residualRow, activation, yRow, ow, count);
                    ow += count;
                }
            }
        }
    }

    /// <summary>Unmasked blocks for any kernel and dilation; input rows outside the image are skipped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Inner<TLoader>(in Window2D w, float* x, int ih0, float* kernel, float bias, float* residualRow,
        in Activation activation, float* yRow, int ow0, int ow1) where TLoader : struct, IWidthLoader
    {
        int kh = w.KernelH, kw = w.KernelW, dw = w.DilationW, stride = TLoader.Stride;
        for (int ow = ow0; ow < ow1; ow += 8)
        {
            var sum = Vector256.Create(bias);
            for (int i = 0; i < kh; i++)
            {
                int ih = ih0 + i * w.DilationH;
                if ((uint)ih >= (uint)w.InH)
                    continue;
                float* input = x + (nint)ih * w.InW + (nint)ow * stride - w.PadLeft;
                float* taps = kernel + i * kw;
                for (int j = 0; j < kw; j++)
                    sum = Fma.MultiplyAdd(TLoader.Load(input + j * dw), Vector256.Create(taps[j]), sum);
            }
            sum = TLoader.Order(sum);
            if (residualRow != null)
                sum = Avx.Add(sum, Avx.LoadVector256(residualRow + ow));
            Avx.Store(yRow + ow, ActivationKernels.Apply(activation, sum));
        }
    }

    /// <summary>One block of <paramref name="count"/> ≤ 8 outputs at the row's edges, with masked loads and store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Edge<TLoader>(in Window2D w, float* x, int ih0, float* kernel, float bias, float* residualRow,
        in Activation activation, float* yRow, int ow, int count) where TLoader : struct, IWidthLoader
    {
        int kw = w.KernelW, iw0 = ow * TLoader.Stride - w.PadLeft;
        var sum = Vector256.Create(bias);
        for (int i = 0; i < w.KernelH; i++)
        {
            int ih = ih0 + i * w.DilationH;
            if ((uint)ih >= (uint)w.InH)
                continue;
            float* row = x + (nint)ih * w.InW;
            for (int j = 0; j < kw; j++)
            {
                var input = TLoader.LoadMasked(row, iw0 + j * w.DilationW, w.InW, out _);
                sum = Fma.MultiplyAdd(input, Vector256.Create(kernel[i * kw + j]), sum);
            }
        }
        sum = TLoader.Order(sum);
        var lanes = Lanes.First(count);
        if (residualRow != null)
            sum = Avx.Add(sum, Avx.MaskLoad(residualRow + ow, lanes));
        Avx.MaskStore(yRow + ow, lanes, ActivationKernels.Apply(activation, sum));
    }

    /// <summary>The fallback for any stride, and for machines without AVX2/FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScalarRows(in Window2D w, float* x, float* kernel, float bias, float* residual,
        in Activation activation, float* y, int row0, int row1)
    {
        for (int oh = row0; oh < row1; oh++)
        {
            int ih0 = oh * w.StrideH - w.PadTop;
            for (int ow = 0; ow < w.OutW; ow++)
            {
                int iw0 = ow * w.StrideW - w.PadLeft;
                float sum = bias;
                for (int i = 0; i < w.KernelH; i++)
                {
                    int ih = ih0 + i * w.DilationH;
                    if ((uint)ih >= (uint)w.InH)
                        continue;
                    for (int j = 0; j < w.KernelW; j++)
                    {
                        int iw = iw0 + j * w.DilationW;
                        if ((uint)iw < (uint)w.InW)
                            sum += x[(nint)ih * w.InW + iw] * kernel[i * w.KernelW + j];
                    }
                }
                nint index = (nint)oh * w.OutW + ow;
                if (residual != null)
                    sum += residual[index];
                y[index] = ScalarMath.Apply(activation, sum);
            }
        }
    }
}
