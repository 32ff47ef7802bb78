using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// y = act(x·scale[c] + shift[c]) per channel c (an inference BatchNormalization), NCHW or channels-last, its rows
/// shared out over a <see cref="WorkerPool"/>, the activation applied to each row while it is in cache; channels-last,
/// x may be several tensors joined along channels (<see cref="RunJoined"/>). One instance per layer; not thread-safe.
/// </summary>
public sealed unsafe class ChannelAffineJob : IParallelTask, IRowTask
{
    private float* _x, _y, _scale, _shift;
    // Set for a RunJoined call: the tensors x joins, each's data and channels.
    private (nint Data, int Channels)[]? _sources;
    private int _channels, _rowFloats, _rowsPerPlane;
    private bool _channelsLast;
    private Activation _activation;
    private RowSchedule _schedule;

    /// <summary>
    /// x and y hold <paramref name="batch"/> images of <paramref name="channels"/> × <paramref name="pixels"/> values,
    /// channel-major (NCHW) or pixel-major (<paramref name="channelsLast"/>); rows of <paramref name="rowPixels"/> pixels
    /// (an image row; pixels must be a multiple of it) are the unit of work.
    /// </summary>
    public void Run(float* x, float* y, float* scale, float* shift, int batch, int channels, int pixels, int rowPixels, bool channelsLast,
        in Activation activation, WorkerPool pool) =>
        Run(x, null, y, scale, shift, batch, channels, pixels, rowPixels, channelsLast, activation, pool);

    /// <summary>
    /// As <see cref="Run(float*, float*, float*, float*, int, int, int, int, bool, in Activation, WorkerPool)"/>,
    /// channels-last, for x the channel concat of <paramref name="sources"/> (each [batch, pixels, its channels]): each
    /// source's channels are read where they are and written at their offset in y, so the joined tensor is never
    /// written and read back.
    /// </summary>
    public void RunJoined((nint Data, int Channels)[] sources, float* y, float* scale, float* shift, int batch, int channels, int pixels, int rowPixels,
        in Activation activation, WorkerPool pool) =>
        Run(null, sources, y, scale, shift, batch, channels, pixels, rowPixels, true, activation, pool);

    private void Run(float* x, (nint Data, int Channels)[]? sources, float* y, float* scale, float* shift, int batch, int channels, int pixels, int rowPixels,
        bool channelsLast, in Activation activation, WorkerPool pool)
    {
        // An empty tensor (a zero dim, a zero-width image's rows of no pixels) has nothing to compute, and no rows to cut.
        if ((long)batch * channels * pixels == 0) return;
        _x = x;
        _sources = sources;
        _y = y;
        _scale = scale;
        _shift = shift;
        (_channels, _channelsLast, _activation) = (channels, channelsLast, activation);
        _rowFloats = rowPixels * (channelsLast ? channels : 1);
        // Channels-last rows hold every channel of their pixels; NCHW rows one channel's, each (image, channel) a plane.
        int planes = channelsLast ? batch : batch * channels;
        _rowsPerPlane = pixels / rowPixels;
        _schedule.Plan(planes, _rowsPerPlane, (long)batch * channels * pixels, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        nint offset = ((nint)plane * _rowsPerPlane + row0) * _rowFloats, count = (nint)(row1 - row0) * _rowFloats;
        float* x = _x + offset, y = _y + offset;
        if (_sources is { } sources)
        {
            JoinRows(sources, offset / _channels, count / _channels, _scale, _shift, _activation, y, _channels);
            return;
        }
        if (_channelsLast)
            for (nint p = 0; p < count; p += _channels) Affine(x + p, y + p, _scale, _shift, _channels);
        else
        {
            int c = plane % _channels;
            Affine(x, y, _scale[c], _shift[c], count);
        }
        ActivationKernels.ApplyRows(_activation, y, count, 1, count);
    }

    /// <summary>
    /// Pixels [<paramref name="first"/>, first + <paramref name="pixels"/>) of the channel concat of
    /// <paramref name="sources"/> (each [pixels, its channels]), channel c as act(x·scale[c] + shift[c]), to y: each
    /// source's channels read where they are and written at their offset, pixels <paramref name="channels"/> floats apart.
    /// </summary>
    private static void JoinRows((nint Data, int Channels)[] sources, nint first, nint pixels, float* scale, float* shift, in Activation activation,
        float* y, int channels)
    {
        // DenseNet's sources are 32 channels each: a call per pixel and source, reloading the coefficients, cost more
        // than the arithmetic. So each 8 channels' coefficients stay in registers down the pixels, and a ReLU is applied
        // there too.
        bool relu = activation.Kind == ActivationKind.Relu && Avx.IsSupported, tail = false;
        int at = 0;
        foreach (var (data, count) in sources)
        {
            float* source = (float*)data + first * count;
            int c = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; c <= count - 8; c += 8)
                {
                    Vector256<float> a = Vector256.Load(scale + at + c), b = Vector256.Load(shift + at + c);
                    float* x = source + c, to = y + at + c;
                    if (relu)
                        for (nint p = 0; p < pixels; p++) Vector256.Store(VectorMath.Max(Vector256<float>.Zero, Vector256.Load(x + p * count) * a + b), to + p * channels);
                    else
                        for (nint p = 0; p < pixels; p++) Vector256.Store(Vector256.Load(x + p * count) * a + b, to + p * channels);
                }
            tail |= c < count;
            if (c < count)
                for (nint p = 0; p < pixels; p++) Affine(source + p * count + c, y + p * channels + at + c, scale + at + c, shift + at + c, count - c);
            at += count;
        }
        if (!relu || tail) ActivationKernels.ApplyRows(activation, y, pixels * channels, 1, pixels * channels);
    }

    /// <summary>y[i] = x[i]·scale[i] + shift[i] for one pixel's channels.</summary>
    private static void Affine(float* x, float* y, float* scale, float* shift, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= count - 8; i += 8)
                Vector256.Store(Vector256.Load(x + i) * Vector256.Load(scale + i) + Vector256.Load(shift + i), y + i);
        for (; i < count; i++) y[i] = x[i] * scale[i] + shift[i];
    }

    /// <summary>y[i] = x[i]·scale + shift over one channel's values.</summary>
    private static void Affine(float* x, float* y, float scale, float shift, nint count)
    {
        nint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> s = Vector256.Create(scale), b = Vector256.Create(shift);
            for (; i <= count - 8; i += 8) Vector256.Store(Vector256.Load(x + i) * s + b, y + i);
        }
        for (; i < count; i++) y[i] = x[i] * scale + shift;
    }
}
