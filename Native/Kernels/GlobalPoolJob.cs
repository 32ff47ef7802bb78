using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The channels-last global pool shared out over a <see cref="WorkerPool"/> by images and channel ranges, so every
/// channel's sum keeps its order whatever the thread count. One instance per layer; not thread-safe.
/// </summary>
public sealed unsafe class GlobalPoolJob : IParallelTask
{
    // Below about 64K inputs waking a second worker costs more than it saves.
    private const long ParallelThreshold = 1 << 16;

    // Channel ranges start on whole cache lines.
    private const int ChannelAlignment = 16;

    private PoolKind _kind;
    private float* _x, _y;
    private int _pixels, _channels, _ranges;

    public void RunChannelsLast(PoolKind kind, float* x, float* y, int batch, int pixels, int channels, WorkerPool pool)
    {
        _kind = kind;
        _x = x;
        _y = y;
        _pixels = pixels;
        _channels = channels;
        long inputs = (long)batch * pixels * channels;
        int threads = inputs >= ParallelThreshold ? pool.ThreadCount : 1;
        // Enough ranges per image that the images and ranges together give every thread work.
        _ranges = Math.Clamp((threads + batch - 1) / batch, 1, Math.Max(1, channels / ChannelAlignment));
        pool.For(batch * _ranges, this);
    }

    void IParallelTask.Execute(int index)
    {
        int n = index / _ranges, range = index % _ranges;
        int c0 = Boundary(range), c1 = Boundary(range + 1);
        GlobalPoolKernels.ChannelsLast(_kind, _x + (nint)n * _pixels * _channels, _y + (nint)n * _channels, _pixels, _channels, c0, c1);
    }

    private int Boundary(int range) => range == _ranges ? _channels : (int)((long)_channels * range / _ranges) / ChannelAlignment * ChannelAlignment;
}
