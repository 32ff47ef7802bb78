using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Sliding windows over a channels-last (NHWC) tensor, vectorised along the channels: depthwise convolution (with
/// bias, residual and activation fused), MaxPool and AveragePool. Output rows are shared out over the workers, and
/// where an image has too few rows to share out evenly (7×7 and 14×14 layers), slices of its channels as well. One
/// instance per engine layer, reused for every call; not thread-safe.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class ChannelsLastWindowJob : IParallelTask, IRowTask
{
    // Output pixels computed together along a row: each weight vector loaded once serves all of them.
    private const int Pixels = 4;

    // The fewest pixels of a row worth running with a 3×3 kernel's weights held in registers (see InteriorColumns).
    private const int MinInteriorPixels = 16;

    private WindowOp _op;
    private float* _x, _weights, _bias, _residual, _y;
    private Activation _activation;
    private bool _countIncludePad;
    private Window2D _window;
    private RowSchedule _schedule;
    private int _slices, _sliceChannels;

    /// <summary>
    /// Depthwise: y = act(Σ x·weights + bias + residual), weights [KernelH·KernelW, Channels], bias null or [Channels],
    /// residual null or shaped like y. Pools ignore weights, bias, residual and activation. x and y are NHWC.
    /// </summary>
    public void Run(WindowOp op, float* x, float* weights, float* bias, float* residual, in Activation activation,
        bool countIncludePad, float* y, in Window2D w, WorkerPool pool)
    {
        Set(op, weights, bias, activation, countIncludePad, w);
        _x = x;
        _residual = residual;
        _y = y;
        long work = (long)w.Batch * w.OutH * w.OutW * w.Channels * w.KernelH * w.KernelW;
        (_slices, _sliceChannels) = Slices(w, pool.ThreadCount);
        _schedule.Plan(w.Batch * _slices, w.OutH, work, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    /// <summary>
    /// Channel slices per image, and channels per slice (whole 512-bit vectors): enough that the images' rows times the
    /// slices give each thread about four pieces of work (a 7-row image on two threads: rows alone split 4:3).
    /// </summary>
    internal static (int Slices, int Channels) Slices(in Window2D w, int threads)
    {
        long rows = (long)w.Batch * w.OutH;
        if (rows == 0) return (1, w.Channels); // nothing to share out
        return ChannelSlices.Of(w.Channels, (int)Math.Clamp((4L * threads + rows - 1) / rows, 1, Math.Max(1, w.Channels / 16)));
    }

    /// <summary>
    /// Sets up a depthwise convolution (as <see cref="Run"/> does, without residual) for <see cref="RunRows"/>,
    /// which several threads may then call at once: it only reads what this sets.
    /// </summary>
    public void PrepareDepthwise(float* weights, float* bias, in Activation activation, in Window2D w) =>
        Set(WindowOp.Depthwise, weights, bias, activation, false, w);

    /// <summary>Sets up a max or average pool (as <see cref="Run"/> does) for <see cref="RunRows"/>.</summary>
    public void PreparePool(WindowOp op, bool countIncludePad, in Window2D w) => Set(op, null, null, default, countIncludePad, w);

    /// <summary>
    /// Output rows [row0, row1) of one image, on the calling thread, of the depthwise convolution or pool set up last.
    /// <paramref name="x"/> and <paramref name="y"/> address the image's input and output row 0; only the input rows
    /// those output rows read, and the output rows, need exist (a caller may hold a band of rows and pass a base pointer
    /// outside it).
    /// </summary>
    public void RunRows(float* x, float* y, int row0, int row1) => Rows(x, y, null, row0, row1, 0, _window.Channels);

    private void Set(WindowOp op, float* weights, float* bias, in Activation activation, bool countIncludePad, in Window2D w)
    {
        _op = op;
        _weights = weights;
        _bias = bias;
        _activation = activation;
        _countIncludePad = countIncludePad;
        _window = w;
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        var w = _window;
        int image = plane / _slices, c0 = plane % _slices * _sliceChannels;
        nint outImage = (nint)w.OutH * w.OutW * w.Channels;
        Rows(_x + (nint)image * w.InH * w.InW * w.Channels, _y + image * outImage, _residual == null ? null : _residual + image * outImage, row0, row1,
            c0, Math.Min(w.Channels, c0 + _sliceChannels));
    }

    /// <summary>
    /// Channels [c0, c1) of output rows [row0, row1) of the image whose input, output and residual start at x, y and
    /// residual.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows(float* x, float* y, float* residualImage, int row0, int row1, int c0, int c1)
    {
        var w = _window;
        int channels = w.Channels;
        nint rowFloats = (nint)w.OutW * channels;
        // Relu and Clip are applied by the blocks while in registers; other activations once per row.
        bool clampInBlock = _op == WindowOp.Depthwise && VectorMath.IsSupported && _activation.Kind is ActivationKind.Relu or ActivationKind.Clip;
        for (int oh = row0; oh < row1; oh++)
        {
            int first = oh * w.StrideH - w.PadTop;
            var (i0, i1) = w.RowsInside(first);
            int countedRows = _countIncludePad ? PoolJob.PaddedCount(first, w.KernelH, w.DilationH, w.InH + w.PadBottom) : i1 - i0;
            float* yRow = y + oh * rowFloats;
            float* residual = residualImage == null ? null : residualImage + oh * rowFloats;
            if (_op == WindowOp.Depthwise && VectorMath.IsSupported)
            {
                // A 3×3 window wholly inside the image's rows: the pixels whose columns are inside too run along the row
                // with the weights in registers; the others (and other windows) in blocks of Pixels outputs, those at
                // the row's ends (padding, or fewer pixels left) checking each column.
                var (interior, interiorEnd) = i1 - i0 == 3 && RowKernelFits() ? InteriorColumns() : (w.OutW, w.OutW);
                for (int ow = 0, count; ow < w.OutW; ow += count)
                {
                    if (ow == interior)
                    {
                        DepthwiseInterior(x, first, interior, interiorEnd, yRow, residual, c0, c1);
                        count = interiorEnd - interior;
                        continue;
                    }
                    int left = ow * w.StrideW - w.PadLeft;
                    count = Math.Min(Pixels, (ow < interior ? interior : w.OutW) - ow);
                    bool inside = count == Pixels && w.InsideRow(ow, Pixels);
                    DepthwiseBlock(x, first, i0, i1, left, count, inside, yRow + (nint)ow * channels, residual == null ? null : residual + (nint)ow * channels, c0, c1);
                }
            }
            else
            {
                int ow = 0;
                while (ow < w.OutW)
                {
                    int left = ow * w.StrideW - w.PadLeft;
                    if (_op != WindowOp.Depthwise && VectorMath.IsSupported && w.InsideRow(ow, Pixels))
                    {
                        // Every kernel column counts inside the row.
                        PoolBlock(x, first, i0, i1, left, countedRows * w.KernelW, yRow + (nint)ow * channels, c0, c1);
                        ow += Pixels;
                        continue;
                    }
                    var (j0, j1) = w.ColumnsInside(left);
                    int countedCols = _countIncludePad ? PoolJob.PaddedCount(left, w.KernelW, w.DilationW, w.InW + w.PadRight) : j1 - j0;
                    Pixel(x, first, i0, i1, left, j0, j1, countedRows * countedCols, yRow + (nint)ow * channels, residual == null ? null : residual + (nint)ow * channels, c0, c1);
                    ow++;
                }
            }
            if (_op != WindowOp.Depthwise || clampInBlock)
                continue;
            if (c1 - c0 == channels)
                ActivationKernels.Apply(_activation, yRow, yRow, rowFloats);
            else
                for (float* pixel = yRow + c0; pixel < yRow + rowFloats; pixel += channels)
                    ActivationKernels.Apply(_activation, pixel, pixel, c1 - c0);
        }
    }

    /// <summary>Whether <see cref="DepthwiseInterior"/> serves this window: 3×3, undilated, whole vectors of channels.</summary>
    private bool RowKernelFits()
    {
        var w = _window;
        return w.KernelH == 3 && w.KernelW == 3 && w.DilationH == 1 && w.DilationW == 1 && w.Channels % 8 == 0;
    }

    /// <summary>The output columns [first, end) whose windows lie inside the input row (first = end = OutW when none do).</summary>
    private (int First, int End) InteriorColumns()
    {
        var w = _window;
        int first = (w.PadLeft + w.StrideW - 1) / w.StrideW;
        int end = Math.Min(w.OutW, (w.InW - w.KernelW + w.PadLeft) / w.StrideW + 1);
        // Short rows stay in blocks, where loading a block of channels' nine weights per row costs more than it saves
        // (one thread, the two forms taking turns: 112-, 56- and 28-wide rows of 32–240 channels 1.17–2.0× faster in the
        // row kernel, 14-wide ones of 96–672 channels 0.92–1.05×, 7-wide ones of 320–1152 channels 0.73–0.80×).
        return first < end && end - first >= MinInteriorPixels ? (first, end) : (w.OutW, w.OutW);
    }

    /// <summary>
    /// A 3×3 depthwise convolution of output pixels [<paramref name="ow0"/>, <paramref name="ow1"/>) of one row, whose
    /// windows lie inside the input (input row <paramref name="first"/> on): the nine weight vectors of a block of channels
    /// stay in registers while the pixels stream past, so each output costs nine loads and multiply-adds and a store.
    /// The same sums in the same order as <see cref="DepthwiseBlock"/>'s.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DepthwiseInterior(float* x, int first, int ow0, int ow1, float* yRow, float* residualRow, int c0, int c1)
    {
        int c = GemmMicroKernels.WideSupported ? DepthwiseInterior<Float512, Vector512<float>>(c0, c1, x, first, ow0, ow1, yRow, residualRow) : c0;
        DepthwiseInterior<Float256, Vector256<float>>(c, c1, x, first, ow0, ow1, yRow, residualRow);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int DepthwiseInterior<TOps, TV>(int c, int end, float* x, int first, int ow0, int ow1, float* yRow, float* residualRow)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        var w = _window;
        int channels = w.Channels;
        bool clamp = _activation.Kind is ActivationKind.Relu or ActivationKind.Clip;
        TV lo = TOps.Create(_activation.Kind == ActivationKind.Relu ? 0f : _activation.Alpha);
        TV hi = TOps.Create(_activation.Kind == ActivationKind.Relu ? float.PositiveInfinity : _activation.Beta);
        nint rowStride = (nint)w.InW * channels, pixelStep = (nint)w.StrideW * channels, tap = channels;
        for (; c + TOps.Count <= end; c += TOps.Count)
        {
            float* k = _weights + c;
            TV k00 = TOps.Load(k), k01 = TOps.Load(k + tap), k02 = TOps.Load(k + 2 * tap);
            TV k10 = TOps.Load(k + 3 * tap), k11 = TOps.Load(k + 4 * tap), k12 = TOps.Load(k + 5 * tap);
            TV k20 = TOps.Load(k + 6 * tap), k21 = TOps.Load(k + 7 * tap), k22 = TOps.Load(k + 8 * tap);
            TV seed = _bias == null ? TOps.Create(0f) : TOps.Load(_bias + c);
            float* r0 = x + ((nint)first * w.InW + ow0 * w.StrideW - w.PadLeft) * channels + c;
            float* y = yRow + (nint)ow0 * channels + c;
            float* residual = residualRow == null ? null : residualRow + (nint)ow0 * channels + c;
            for (int ow = ow0; ow < ow1; ow++, r0 += pixelStep, y += channels)
            {
                float* r1 = r0 + rowStride, r2 = r1 + rowStride;
                TV a = TOps.MultiplyAdd(TOps.Load(r0), k00, seed);
                a = TOps.MultiplyAdd(TOps.Load(r0 + tap), k01, a);
                a = TOps.MultiplyAdd(TOps.Load(r0 + 2 * tap), k02, a);
                a = TOps.MultiplyAdd(TOps.Load(r1), k10, a);
                a = TOps.MultiplyAdd(TOps.Load(r1 + tap), k11, a);
                a = TOps.MultiplyAdd(TOps.Load(r1 + 2 * tap), k12, a);
                a = TOps.MultiplyAdd(TOps.Load(r2), k20, a);
                a = TOps.MultiplyAdd(TOps.Load(r2 + tap), k21, a);
                a = TOps.MultiplyAdd(TOps.Load(r2 + 2 * tap), k22, a);
                Finish<TOps, TV>(a, 0, 1, channels, residual, y, clamp, lo, hi);
                if (residual != null) residual += channels;
            }
        }
        return c;
    }

    // Block kinds: windows wholly inside the row, or at its ends (columns checked, fewer pixels possible).
    private struct Inside;

    private struct AtEdge;

    // Window shapes: any, or 3 or 5 columns at stride 1 and dilation 1, where neighbouring pixels share all but one of
    // their columns and each column is loaded once for the four pixels, at the row's ends too (one thread, with SiLU,
    // against loading each tap: 7×7 images of 1,152 channels 3×3 38.7 → 32.5 µs and 5×5 63.5 → 48.8; 14×14 of 672
    // 5×5 168 → 125; 28×28 of 240 5×5 230 → 177).
    private struct AnyWindow;

    private struct Shared3;

    private struct Shared5;

    // The same at stride 2, where neighbouring pixels share K − 2 columns (a 5×5 block: 11 column loads for 20 taps;
    // one thread, with SiLU: 144×56×56 141.9 → 121.4 µs, 672×14×14 62.0 → 49.6; 3×3: 0–7%).
    private struct Shared3Stride2;

    private struct Shared5Stride2;

    /// <summary>
    /// Depthwise convolution of <paramref name="count"/> (≤ <see cref="Pixels"/>) neighbouring outputs starting at input
    /// column <paramref name="left"/>; <paramref name="inside"/> when all <see cref="Pixels"/> windows lie inside the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DepthwiseBlock(float* x, int first, int i0, int i1, int left, int count, bool inside, float* y, float* residual, int c0, int c1)
    {
        var w = _window;
        int channels = w.Channels;
        bool clamp = _activation.Kind is ActivationKind.Relu or ActivationKind.Clip;
        float low = _activation.Kind == ActivationKind.Relu ? 0f : _activation.Alpha;
        float high = _activation.Kind == ActivationKind.Relu ? float.PositiveInfinity : _activation.Beta;
        // 512-bit lanes where the CPU has them (twice the channels per instruction), then 256-bit, then one pixel at a time.
        int shared = w.DilationW == 1 && w.KernelW is 3 or 5 && w.StrideW is 1 or 2 ? w.KernelW * 10 + w.StrideW : 0;
        int c = GemmMicroKernels.WideSupported ? DepthwiseLanes<Float512, Vector512<float>>(c0, c1, shared, inside, x, first, i0, i1, left, count, y, residual, clamp, low, high) : c0;
        c = DepthwiseLanes<Float256, Vector256<float>>(c, c1, shared, inside, x, first, i0, i1, left, count, y, residual, clamp, low, high);
        for (int p = 0; c < c1 && p < count; p++)
        {
            float* yp = y + p * channels;
            int pixelLeft = left + p * w.StrideW;
            var (j0, j1) = w.ColumnsInside(pixelLeft);
            Pixel(x, first, i0, i1, pixelLeft, j0, j1, 0, yp, residual == null ? null : residual + p * channels, c, c1);
            if (clamp) ActivationKernels.Apply(_activation, yp + c, yp + c, c1 - c);
        }
    }

    /// <summary>
    /// The block's channels from <paramref name="c"/> to <paramref name="end"/> at one vector width, with the window shape
    /// (<paramref name="shared"/>: kernel width × 10 + stride for shared columns, 0 any) and block kind that fit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int DepthwiseLanes<TOps, TV>(int c, int end, int shared, bool inside, float* x, int first, int i0, int i1, int left, int count, float* y, float* residual,
        bool clamp, float low, float high)
        where TOps : struct, IFloatVector<TV> where TV : struct => shared switch
    {
        31 => DepthwiseShape<TOps, TV, Shared3>(c, end, inside, x, first, i0, i1, left, count, y, residual, clamp, low, high),
        51 => DepthwiseShape<TOps, TV, Shared5>(c, end, inside, x, first, i0, i1, left, count, y, residual, clamp, low, high),
        32 => DepthwiseShape<TOps, TV, Shared3Stride2>(c, end, inside, x, first, i0, i1, left, count, y, residual, clamp, low, high),
        52 => DepthwiseShape<TOps, TV, Shared5Stride2>(c, end, inside, x, first, i0, i1, left, count, y, residual, clamp, low, high),
        _ => DepthwiseShape<TOps, TV, AnyWindow>(c, end, inside, x, first, i0, i1, left, count, y, residual, clamp, low, high),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int DepthwiseShape<TOps, TV, TShape>(int c, int end, bool inside, float* x, int first, int i0, int i1, int left, int count, float* y, float* residual,
        bool clamp, float low, float high)
        where TOps : struct, IFloatVector<TV> where TV : struct where TShape : struct => inside
        ? DepthwiseChannels<TOps, TV, TShape, Inside>(c, end, x, first, i0, i1, left, count, y, residual, clamp, low, high)
        : DepthwiseChannels<TOps, TV, TShape, AtEdge>(c, end, x, first, i0, i1, left, count, y, residual, clamp, low, high);

    /// <summary>The block's channels from <paramref name="c"/> to <paramref name="end"/>, a vector of them at a time; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int DepthwiseChannels<TOps, TV, TShape, TBlock>(int c, int end, float* x, int first, int i0, int i1, int left, int count, float* y, float* residual,
        bool clamp, float low, float high)
        where TOps : struct, IFloatVector<TV> where TV : struct where TShape : struct where TBlock : struct
    {
        var w = _window;
        int channels = w.Channels, kw = w.KernelW, stride = w.StrideW, inW = w.InW;
        nint pixelStep = (nint)stride * channels, tapStep = (nint)w.DilationW * channels;
        TV lo = TOps.Create(low), hi = TOps.Create(high), zero = TOps.Create(0f);
        for (; c + TOps.Count <= end; c += TOps.Count)
        {
            TV seed = _bias == null ? zero : TOps.Load(_bias + c);
            TV a0 = seed, a1 = seed, a2 = seed, a3 = seed;
            for (int i = i0; i < i1; i++)
            {
                float* row = x + ((nint)(first + i * w.DilationH) * w.InW + left) * channels + c;
                float* weights = _weights + (nint)i * kw * channels + c;
                if (typeof(TShape) == typeof(Shared3) || typeof(TShape) == typeof(Shared3Stride2))
                {
                    // Input columns 0..5 (0..8 at stride 2), each loaded once, feed the 4 pixels' 3 taps (in the same order as below).
                    var k = new Taps<TOps, TV>(weights, channels, 3);
                    TV v0 = Column<TOps, TV, TBlock>(row, 0, left, channels, inW), v1 = Column<TOps, TV, TBlock>(row, 1, left, channels, inW);
                    TV v2 = Column<TOps, TV, TBlock>(row, 2, left, channels, inW), v3 = Column<TOps, TV, TBlock>(row, 3, left, channels, inW);
                    TV v4 = Column<TOps, TV, TBlock>(row, 4, left, channels, inW), v5 = Column<TOps, TV, TBlock>(row, 5, left, channels, inW);
                    a0 = k.Sum(a0, v0, v1, v2);
                    if (typeof(TShape) == typeof(Shared3))
                        (a1, a2, a3) = (k.Sum(a1, v1, v2, v3), k.Sum(a2, v2, v3, v4), k.Sum(a3, v3, v4, v5));
                    else
                    {
                        TV v6 = Column<TOps, TV, TBlock>(row, 6, left, channels, inW), v7 = Column<TOps, TV, TBlock>(row, 7, left, channels, inW);
                        TV v8 = Column<TOps, TV, TBlock>(row, 8, left, channels, inW);
                        (a1, a2, a3) = (k.Sum(a1, v2, v3, v4), k.Sum(a2, v4, v5, v6), k.Sum(a3, v6, v7, v8));
                    }
                    continue;
                }
                if (typeof(TShape) == typeof(Shared5) || typeof(TShape) == typeof(Shared5Stride2))
                {
                    // Input columns 0..7 (0..10 at stride 2) feed the 4 pixels' 5 taps.
                    var k = new Taps<TOps, TV>(weights, channels, 5);
                    TV v0 = Column<TOps, TV, TBlock>(row, 0, left, channels, inW), v1 = Column<TOps, TV, TBlock>(row, 1, left, channels, inW);
                    TV v2 = Column<TOps, TV, TBlock>(row, 2, left, channels, inW), v3 = Column<TOps, TV, TBlock>(row, 3, left, channels, inW);
                    TV v4 = Column<TOps, TV, TBlock>(row, 4, left, channels, inW), v5 = Column<TOps, TV, TBlock>(row, 5, left, channels, inW);
                    TV v6 = Column<TOps, TV, TBlock>(row, 6, left, channels, inW), v7 = Column<TOps, TV, TBlock>(row, 7, left, channels, inW);
                    a0 = k.Sum(a0, v0, v1, v2, v3, v4);
                    if (typeof(TShape) == typeof(Shared5))
                        (a1, a2, a3) = (k.Sum(a1, v1, v2, v3, v4, v5), k.Sum(a2, v2, v3, v4, v5, v6), k.Sum(a3, v3, v4, v5, v6, v7));
                    else
                    {
                        TV v8 = Column<TOps, TV, TBlock>(row, 8, left, channels, inW), v9 = Column<TOps, TV, TBlock>(row, 9, left, channels, inW);
                        TV v10 = Column<TOps, TV, TBlock>(row, 10, left, channels, inW);
                        (a1, a2, a3) = (k.Sum(a1, v2, v3, v4, v5, v6), k.Sum(a2, v4, v5, v6, v7, v8), k.Sum(a3, v6, v7, v8, v9, v10));
                    }
                    continue;
                }
                for (int j = 0, col = left; j < kw; j++, row += tapStep, weights += channels, col += w.DilationW)
                {
                    TV k = TOps.Load(weights);
                    a0 = TOps.MultiplyAdd(Tap<TOps, TV, TBlock>(row, col, inW), k, a0);
                    a1 = TOps.MultiplyAdd(Tap<TOps, TV, TBlock>(row + pixelStep, col + stride, inW), k, a1);
                    a2 = TOps.MultiplyAdd(Tap<TOps, TV, TBlock>(row + 2 * pixelStep, col + 2 * stride, inW), k, a2);
                    a3 = TOps.MultiplyAdd(Tap<TOps, TV, TBlock>(row + 3 * pixelStep, col + 3 * stride, inW), k, a3);
                }
            }
            float* r = residual == null ? null : residual + c;
            Finish<TOps, TV>(a0, 0, count, channels, r, y + c, clamp, lo, hi);
            Finish<TOps, TV>(a1, 1, count, channels, r, y + c, clamp, lo, hi);
            Finish<TOps, TV>(a2, 2, count, channels, r, y + c, clamp, lo, hi);
            Finish<TOps, TV>(a3, 3, count, channels, r, y + c, clamp, lo, hi);
        }
        return c;
    }

    /// <summary>One kernel row's 3 or 5 weight vectors, held for the four pixels of a block.</summary>
    private readonly struct Taps<TOps, TV> where TOps : struct, IFloatVector<TV> where TV : struct
    {
        private readonly TV _k0, _k1, _k2, _k3, _k4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Taps(float* weights, int channels, int count)
        {
            (_k0, _k1, _k2) = (TOps.Load(weights), TOps.Load(weights + channels), TOps.Load(weights + 2 * channels));
            (_k3, _k4) = count == 5 ? (TOps.Load(weights + 3 * channels), TOps.Load(weights + 4 * channels)) : (_k0, _k0);
        }

        /// <summary>a + v0·k0 + v1·k1 + v2·k2, in that order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Sum(TV a, TV v0, TV v1, TV v2) => TOps.MultiplyAdd(v2, _k2, TOps.MultiplyAdd(v1, _k1, TOps.MultiplyAdd(v0, _k0, a)));

        /// <summary>a + v0·k0 + … + v4·k4, in that order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Sum(TV a, TV v0, TV v1, TV v2, TV v3, TV v4) => TOps.MultiplyAdd(v4, _k4, TOps.MultiplyAdd(v3, _k3, Sum(a, v0, v1, v2)));
    }

    /// <summary>Column <paramref name="q"/> of a block whose first window starts at input column <paramref name="left"/> (see <see cref="Tap"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Column<TOps, TV, TBlock>(float* row, int q, int left, int channels, int inW) where TOps : struct, IFloatVector<TV> where TV : struct where TBlock : struct =>
        Tap<TOps, TV, TBlock>(row + (nint)q * channels, left + q, inW);

    /// <summary>The input vector at <paramref name="p"/>, input column <paramref name="col"/>: zero (padding) outside the row at the edges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Tap<TOps, TV, TBlock>(float* p, int col, int inW) where TOps : struct, IFloatVector<TV> where TV : struct where TBlock : struct =>
        typeof(TBlock) == typeof(AtEdge) && (uint)col >= (uint)inW ? TOps.Create(0f) : TOps.Load(p);

    /// <summary>Pixel <paramref name="p"/> of a block, if it is one of the <paramref name="count"/> stored: residual, Relu/Clip, store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TOps, TV>(TV a, int p, int count, int channels, float* residual, float* y, bool clamp, TV lo, TV hi)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        if (p >= count) return;
        nint offset = (nint)p * channels;
        if (residual != null) a = TOps.Add(a, TOps.Load(residual + offset));
        // max before min, NaN kept: max and min return the second operand when unordered.
        if (clamp) a = TOps.Min(hi, TOps.Max(lo, a));
        TOps.Store(a, y + offset);
    }

    /// <summary>
    /// Max or average pool of <see cref="Pixels"/> neighbouring outputs whose windows lie inside the row (all kernel columns
    /// count): one accumulator per pixel, so the vector unit works on four independent chains instead of waiting on one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PoolBlock(float* x, int first, int i0, int i1, int left, int counted, float* y, int c0, int c1)
    {
        int c = _op == WindowOp.Max ? PoolChannels<MaxCombine>(c0, c1, x, first, i0, i1, left, counted, y) : PoolChannels<SumCombine>(c0, c1, x, first, i0, i1, left, counted, y);
        for (int p = 0; c < c1 && p < Pixels; p++)
            Pixel(x, first, i0, i1, left + p * _window.StrideW, 0, _window.KernelW, counted, y + p * _window.Channels, null, c, c1);
    }

    /// <summary>The block's channels [c0, c1) in 512-bit lanes where the CPU has them, then 256-bit; returns where it stopped.</summary>
    private int PoolChannels<TCombine>(int c0, int c1, float* x, int first, int i0, int i1, int left, int counted, float* y) where TCombine : struct, IPoolCombine
    {
        int c = GemmMicroKernels.WideSupported ? PoolChannels<Float512, Vector512<float>, TCombine>(c0, c1, x, first, i0, i1, left, counted, y) : c0;
        return PoolChannels<Float256, Vector256<float>, TCombine>(c, c1, x, first, i0, i1, left, counted, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int PoolChannels<TOps, TV, TCombine>(int c, int end, float* x, int first, int i0, int i1, int left, int counted, float* y)
        where TOps : struct, IFloatVector<TV> where TV : struct where TCombine : struct, IPoolCombine
    {
        var w = _window;
        int channels = w.Channels, kw = w.KernelW;
        nint pixelStep = (nint)w.StrideW * channels, tapStep = (nint)w.DilationW * channels;
        bool average = _op == WindowOp.Average;
        // The same values as Pixel: an average over no counted position is 0.
        TV empty = TOps.Create(average ? 0f : float.NegativeInfinity), scale = TOps.Create(counted == 0 ? 0f : 1f / counted);
        for (; c + TOps.Count <= end; c += TOps.Count)
        {
            TV a0 = empty, a1 = empty, a2 = empty, a3 = empty;
            for (int i = i0; i < i1; i++)
            {
                float* row = x + ((nint)(first + i * w.DilationH) * w.InW + left) * channels + c;
                for (int j = 0; j < kw; j++, row += tapStep)
                {
                    a0 = TCombine.Combine<TOps, TV>(a0, TOps.Load(row));
                    a1 = TCombine.Combine<TOps, TV>(a1, TOps.Load(row + pixelStep));
                    a2 = TCombine.Combine<TOps, TV>(a2, TOps.Load(row + 2 * pixelStep));
                    a3 = TCombine.Combine<TOps, TV>(a3, TOps.Load(row + 3 * pixelStep));
                }
            }
            if (average)
            {
                a0 = TOps.Multiply(a0, scale);
                a1 = TOps.Multiply(a1, scale);
                a2 = TOps.Multiply(a2, scale);
                a3 = TOps.Multiply(a3, scale);
            }
            TOps.Store(a0, y + c);
            TOps.Store(a1, y + channels + c);
            TOps.Store(a2, y + 2 * channels + c);
            TOps.Store(a3, y + 3 * channels + c);
        }
        return c;
    }

    /// <summary>Channels [c0, c1) of one output pixel, over kernel rows [i0, i1) and columns [j0, j1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Pixel(float* x, int first, int i0, int i1, int left, int j0, int j1, int counted, float* y, float* residual, int c0, int c1)
    {
        var w = _window;
        int channels = w.Channels, kw = w.KernelW;
        var op = _op;
        float empty = op == WindowOp.Max ? float.NegativeInfinity : 0f;
        // An average over no counted position is 0 (ONNX Runtime's value for windows wholly in the padding).
        float scale = op == WindowOp.Average ? (counted == 0 ? 0f : 1f / counted) : 1f;
        int c = c0;
        if (op != WindowOp.Depthwise && GemmMicroKernels.WideSupported)
        {
            // Pools run every output through here: 512-bit lanes where the CPU has them.
            for (; c + 16 <= c1; c += 16)
            {
                var acc = Vector512.Create(empty);
                for (int i = i0; i < i1; i++)
                {
                    float* row = x + ((nint)(first + i * w.DilationH) * w.InW + left) * channels + c;
                    for (int j = j0; j < j1; j++)
                    {
                        var v = Vector512.Load(row + (nint)j * w.DilationW * channels);
                        acc = op == WindowOp.Max ? Float512.KeepNaN(acc, Avx512F.Max(acc, v)) : acc + v;
                    }
                }
                if (op == WindowOp.Average) acc *= Vector512.Create(scale);
                acc.Store(y + c);
            }
        }
        if (VectorMath.IsSupported)
        {
            for (; c + 8 <= c1; c += 8)
            {
                var acc = op == WindowOp.Depthwise && _bias != null ? Avx.LoadVector256(_bias + c) : Vector256.Create(empty);
                for (int i = i0; i < i1; i++)
                {
                    float* row = x + ((nint)(first + i * w.DilationH) * w.InW + left) * channels + c;
                    for (int j = j0; j < j1; j++)
                    {
                        var v = Avx.LoadVector256(row + (nint)j * w.DilationW * channels);
                        acc = op switch
                        {
                            WindowOp.Depthwise => Fma.MultiplyAdd(v, Avx.LoadVector256(_weights + (nint)(i * kw + j) * channels + c), acc),
                            WindowOp.Max => VectorMath.KeepNaN(acc, VectorMath.Max(acc, v)),
                            _ => acc + v,
                        };
                    }
                }
                if (op == WindowOp.Average) acc *= Vector256.Create(scale);
                if (residual != null) acc += Avx.LoadVector256(residual + c);
                Avx.Store(y + c, acc);
            }
        }
        for (; c < c1; c++)
        {
            float acc = op == WindowOp.Depthwise && _bias != null ? _bias[c] : empty;
            for (int i = i0; i < i1; i++)
            {
                float* row = x + ((nint)(first + i * w.DilationH) * w.InW + left) * channels + c;
                for (int j = j0; j < j1; j++)
                {
                    float v = row[(nint)j * w.DilationW * channels];
                    acc = op switch
                    {
                        WindowOp.Depthwise => MathF.FusedMultiplyAdd(v, _weights[(nint)(i * kw + j) * channels + c], acc),
                        WindowOp.Max => float.IsNaN(v) || v > acc ? v : acc,
                        _ => acc + v,
                    };
                }
            }
            if (op == WindowOp.Average) acc *= scale;
            if (residual != null) acc += residual[c];
            y[c] = acc;
        }
    }
}
