using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// A channels-last (NHWC) convolution whose groups have 2 or 4 channels in and out (ResNeXt-50's first stage: 32
/// groups of 4), computed directly: 8 output channels are two or four whole groups, and for each tap and group input
/// i they take the input vector at their own channels, permuted within its 128-bit halves so that every lane holds its
/// group's i-th channel, times the weight row [tap·G + i] (the depthwise packing's reorder: <see cref="ConvPacking.Depthwise"/>).
/// No multiply is wasted, where a GEMM's 8-wide panel would hold zeros between two groups. Blocks of 8 outputs along a
/// row share each tap's weights, and for a 3-wide kernel at stride 1 each input column's permutes. Output rows are
/// shared out over the workers. One instance per engine layer; not thread-safe.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class GroupedConvJob : IParallelTask, IRowTask
{
    // Outputs of a row computed together: a tap's weight vectors, loaded once, serve them all, and their sums are
    // independent chains of multiply-adds.
    private const int Pixels = 8;

    private float* _x, _weights, _bias, _residual, _y;
    private Activation _activation;
    private Window2D _window;
    private int _groupSize;
    private RowSchedule _schedule;

    /// <summary>Group sizes (channels in and out per group) the kernel computes.</summary>
    public static bool Supports(int groupSize) => groupSize is 2 or 4;

    /// <summary>
    /// y = act(conv(x, weights) + bias + residual) for groups of <paramref name="groupSize"/> channels: weights
    /// [KernelH·KernelW·groupSize, Channels] (row t·G + i holds each output channel's weight for its group's input i at
    /// tap t), bias null or [Channels], residual null or shaped like y; x and y NHWC with Channels channels each.
    /// </summary>
    public void Run(float* x, float* weights, float* bias, float* residual, in Activation activation, int groupSize, float* y, in Window2D w, WorkerPool pool)
    {
        if (!Supports(groupSize) || w.Channels % groupSize != 0)
            throw new ArgumentException($"Grouped convolution: groups of {groupSize} over {w.Channels} channels are not supported.");
        _x = x;
        _weights = weights;
        _bias = bias;
        _residual = residual;
        _y = y;
        (_activation, _window, _groupSize) = (activation, w, groupSize);
        long work = (long)w.Batch * w.OutH * w.OutW * w.Channels * w.KernelH * w.KernelW * groupSize;
        _schedule.Plan(w.Batch, w.OutH, work, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IRowTask.RunRows(int image, int row0, int row1)
    {
        var w = _window;
        int channels = w.Channels;
        nint rowFloats = (nint)w.OutW * channels, outImage = w.OutH * rowFloats;
        float* x = _x + (nint)image * w.InH * w.InW * channels;
        bool clamp = _activation.Kind is ActivationKind.Relu or ActivationKind.Clip && Avx.IsSupported;
        int vectorChannels = Avx.IsSupported && Fma.IsSupported ? channels / 8 * 8 : 0;
        for (int oh = row0; oh < row1; oh++)
        {
            int top = oh * w.StrideH - w.PadTop;
            var (i0, i1) = w.RowsInside(top);
            float* yRow = _y + image * outImage + oh * rowFloats;
            float* residual = _residual == null ? null : _residual + image * outImage + oh * rowFloats;
            for (int ow = 0; ow < w.OutW;)
            {
                int left = ow * w.StrideW - w.PadLeft;
                var (j0, j1) = w.ColumnsInside(left);
                // A block of 8 or 4 pixels whose windows all lie inside the row shares each weight vector; others go one by one.
                int count = w.InsideRow(ow, Pixels) ? Pixels : w.InsideRow(ow, 4) ? 4 : 1;
                if (vectorChannels > 0)
                {
                    float* yp = yRow + (nint)ow * channels, rp = residual == null ? null : residual + (nint)ow * channels;
                    if (_groupSize == 4) Block<Four>(x, top, i0, i1, left, j0, j1, count, yp, rp, vectorChannels, clamp);
                    else Block<Two>(x, top, i0, i1, left, j0, j1, count, yp, rp, vectorChannels, clamp);
                }
                for (int p = 0; p < count && vectorChannels < channels; p++)
                {
                    int pixelLeft = left + p * w.StrideW;
                    var (pj0, pj1) = w.ColumnsInside(pixelLeft);
                    float* yp = yRow + (nint)(ow + p) * channels;
                    Scalar(x, top, i0, i1, pixelLeft, pj0, pj1, yp, residual == null ? null : residual + (nint)(ow + p) * channels, vectorChannels);
                }
                ow += count;
            }
            if (!clamp) ActivationKernels.ApplyRows(_activation, yRow, rowFloats, 1, rowFloats);
            else if (vectorChannels < channels)
                for (float* pixel = yRow; pixel < yRow + rowFloats; pixel += channels)
                    ActivationKernels.Apply(_activation, pixel + vectorChannels, pixel + vectorChannels, channels - vectorChannels);
        }
    }

    // Group sizes, as type parameters so each kernel's permutes are constants.
    private struct Two;

    private struct Four;

    /// <summary>
    /// Channels [0, <paramref name="end"/>) of <paramref name="count"/> (1, 4 or <see cref="Pixels"/>) neighbouring output
    /// pixels whose windows start at input row <paramref name="top"/> and column <paramref name="left"/>, over kernel rows
    /// [i0, i1) and columns [j0, j1) (all of them inside the input for every pixel of a block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block<TGroup>(float* x, int top, int i0, int i1, int left, int j0, int j1, int count, float* y, float* residual, int end, bool clamp)
        where TGroup : struct
    {
        var w = _window;
        int channels = w.Channels, g = typeof(TGroup) == typeof(Four) ? 4 : 2;
        nint pixelStep = (nint)w.StrideW * channels, weightRow = channels;
        // 8 outputs of a 3-wide kernel at stride 1: each input column's permutes serve the (up to) three outputs that read
        // it, where otherwise every output permutes it again (alone, 128 channels at 56×56 on two threads: groups of 4
        // 283 → 250 µs, of 2 178 → 158).
        bool shared = count == Pixels && w.KernelW == 3 && w.StrideW == 1 && w.DilationW == 1;
        var lo = Vector256.Create(_activation.Kind == ActivationKind.Relu ? 0f : _activation.Alpha);
        var hi = Vector256.Create(_activation.Kind == ActivationKind.Relu ? float.PositiveInfinity : _activation.Beta);
        for (int c = 0; c < end; c += 8)
        {
            var seed = _bias == null ? Vector256<float>.Zero : Vector256.Load(_bias + c);
            Vector256<float> a0 = seed, a1 = seed, a2 = seed, a3 = seed, a4 = seed, a5 = seed, a6 = seed, a7 = seed;
            for (int i = i0; i < i1; i++)
            {
                float* row = x + ((nint)(top + i * w.DilationH) * w.InW + left) * channels + c;
                if (shared)
                {
                    // Column q feeds output q − j with the weights of tap j, j ascending for each output as below.
                    float* k0 = _weights + (nint)i * 3 * g * weightRow + c, k1 = k0 + g * weightRow, k2 = k1 + g * weightRow;
                    var p = new Permuted<TGroup>(Vector256.Load(row));
                    a0 = p.Add(a0, k0, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + channels));
                    a0 = p.Add(a0, k1, weightRow);
                    a1 = p.Add(a1, k0, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + 2 * channels));
                    a0 = p.Add(a0, k2, weightRow);
                    a1 = p.Add(a1, k1, weightRow);
                    a2 = p.Add(a2, k0, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + 3 * channels));
                    a1 = p.Add(a1, k2, weightRow);
                    a2 = p.Add(a2, k1, weightRow);
                    a3 = p.Add(a3, k0, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + 4 * channels));
                    a2 = p.Add(a2, k2, weightRow);
                    a3 = p.Add(a3, k1, weightRow);
                    a4 = p.Add(a4, k0, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + 5 * channels));
                    a3 = p.Add(a3, k2, weightRow);
                    a4 = p.Add(a4, k1, weightRow);
                    a5 = p.Add(a5, k0, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + 6 * channels));
                    a4 = p.Add(a4, k2, weightRow);
                    a5 = p.Add(a5, k1, weightRow);
                    a6 = p.Add(a6, k0, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + 7 * channels));
                    a5 = p.Add(a5, k2, weightRow);
                    a6 = p.Add(a6, k1, weightRow);
                    a7 = p.Add(a7, k0, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + 8 * channels));
                    a6 = p.Add(a6, k2, weightRow);
                    a7 = p.Add(a7, k1, weightRow);
                    p = new Permuted<TGroup>(Vector256.Load(row + 9 * channels));
                    a7 = p.Add(a7, k2, weightRow);
                    continue;
                }
                for (int j = j0; j < j1; j++)
                {
                    float* tap = row + (nint)j * w.DilationW * channels;
                    float* kp = _weights + ((nint)(i * w.KernelW + j) * g) * weightRow + c;
                    var k = new GroupWeights(kp, weightRow, g);
                    a0 = k.Taps<TGroup>(a0, Vector256.Load(tap));
                    if (count == 1) continue;
                    a1 = k.Taps<TGroup>(a1, Vector256.Load(tap + pixelStep));
                    a2 = k.Taps<TGroup>(a2, Vector256.Load(tap + 2 * pixelStep));
                    a3 = k.Taps<TGroup>(a3, Vector256.Load(tap + 3 * pixelStep));
                    if (count == 4) continue;
                    a4 = k.Taps<TGroup>(a4, Vector256.Load(tap + 4 * pixelStep));
                    a5 = k.Taps<TGroup>(a5, Vector256.Load(tap + 5 * pixelStep));
                    a6 = k.Taps<TGroup>(a6, Vector256.Load(tap + 6 * pixelStep));
                    a7 = k.Taps<TGroup>(a7, Vector256.Load(tap + 7 * pixelStep));
                }
            }
            Finish(a0, y + c, residual == null ? null : residual + c, clamp, lo, hi);
            if (count == 1) continue;
            Finish(a1, y + channels + c, residual == null ? null : residual + channels + c, clamp, lo, hi);
            Finish(a2, y + 2 * channels + c, residual == null ? null : residual + 2 * channels + c, clamp, lo, hi);
            Finish(a3, y + 3 * channels + c, residual == null ? null : residual + 3 * channels + c, clamp, lo, hi);
            if (count == 4) continue;
            Finish(a4, y + 4 * channels + c, residual == null ? null : residual + 4 * channels + c, clamp, lo, hi);
            Finish(a5, y + 5 * channels + c, residual == null ? null : residual + 5 * channels + c, clamp, lo, hi);
            Finish(a6, y + 6 * channels + c, residual == null ? null : residual + 6 * channels + c, clamp, lo, hi);
            Finish(a7, y + 7 * channels + c, residual == null ? null : residual + 7 * channels + c, clamp, lo, hi);
        }
    }

    /// <summary>One tap's weight vectors for each input of the group, held for the pixels of a block.</summary>
    private readonly struct GroupWeights
    {
        private readonly Vector256<float> _k0, _k1, _k2, _k3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public GroupWeights(float* k, nint row, int groupSize)
        {
            (_k0, _k1) = (Vector256.Load(k), Vector256.Load(k + row));
            (_k2, _k3) = groupSize == 4 ? (Vector256.Load(k + 2 * row), Vector256.Load(k + 3 * row)) : (_k0, _k1);
        }

        /// <summary>
        /// a + Σ_i permute_i(v)·k_i over the group's inputs: lane l of permute_i(v) is the i-th channel of lane l's group
        /// (within each 128-bit half: [i, i, i, i] for groups of 4, [i, i, 2 + i, 2 + i] for groups of 2).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Taps<TGroup>(Vector256<float> a, Vector256<float> v) where TGroup : struct
        {
            if (typeof(TGroup) == typeof(Four))
            {
                a = Fma.MultiplyAdd(Avx.Permute(v, 0x00), _k0, a);
                a = Fma.MultiplyAdd(Avx.Permute(v, 0x55), _k1, a);
                a = Fma.MultiplyAdd(Avx.Permute(v, 0xAA), _k2, a);
                return Fma.MultiplyAdd(Avx.Permute(v, 0xFF), _k3, a);
            }
            a = Fma.MultiplyAdd(Avx.Permute(v, 0xA0), _k0, a);
            return Fma.MultiplyAdd(Avx.Permute(v, 0xF5), _k1, a);
        }
    }

    /// <summary>An input vector permuted once for each input of the group (see <see cref="GroupWeights.Taps"/>), for several taps.</summary>
    private readonly struct Permuted<TGroup> where TGroup : struct
    {
        private readonly Vector256<float> _p0, _p1, _p2, _p3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Permuted(Vector256<float> v)
        {
            if (typeof(TGroup) == typeof(Four))
                (_p0, _p1, _p2, _p3) = (Avx.Permute(v, 0x00), Avx.Permute(v, 0x55), Avx.Permute(v, 0xAA), Avx.Permute(v, 0xFF));
            else
                (_p0, _p1, _p2, _p3) = (Avx.Permute(v, 0xA0), Avx.Permute(v, 0xF5), default, default);
        }

        /// <summary>a + Σ_i permute_i·k[i·row], i ascending: the sums <see cref="GroupWeights.Taps"/> makes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Add(Vector256<float> a, float* k, nint row)
        {
            a = Fma.MultiplyAdd(_p0, Vector256.Load(k), a);
            a = Fma.MultiplyAdd(_p1, Vector256.Load(k + row), a);
            if (typeof(TGroup) != typeof(Four)) return a;
            a = Fma.MultiplyAdd(_p2, Vector256.Load(k + 2 * row), a);
            return Fma.MultiplyAdd(_p3, Vector256.Load(k + 3 * row), a);
        }
    }

    /// <summary>Adds the residual, clamps (Relu, Clip) and stores one output vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(Vector256<float> a, float* y, float* residual, bool clamp, Vector256<float> lo, Vector256<float> hi)
    {
        if (residual != null) a += Vector256.Load(residual);
        if (clamp) a = VectorMath.Min(hi, VectorMath.Max(lo, a));
        Vector256.Store(a, y);
    }

    /// <summary>Channels [<paramref name="c0"/>, Channels) of one output pixel, one at a time (the tail past whole vectors, or no AVX2).</summary>
    private void Scalar(float* x, int top, int i0, int i1, int left, int j0, int j1, float* y, float* residual, int c0)
    {
        var w = _window;
        int channels = w.Channels, g = _groupSize;
        for (int o = c0; o < channels; o++)
        {
            int first = o / g * g;
            float sum = _bias == null ? 0f : _bias[o];
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++)
                {
                    float* tap = x + ((nint)(top + i * w.DilationH) * w.InW + left + j * w.DilationW) * channels + first;
                    float* k = _weights + ((nint)(i * w.KernelW + j) * g) * channels + o;
                    for (int q = 0; q < g; q++) sum = MathF.FusedMultiplyAdd(tap[q], k[(nint)q * channels], sum);
                }
            if (residual != null) sum += residual[o];
            y[o] = sum;
        }
    }
}
