using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// A channels-last global pool (or mean over H and W) shared out over the workers by slices of channels: each channel
/// is still summed by one thread in pixel order, so the outputs do not depend on the thread count. One instance per
/// engine layer, reused for every call; not thread-safe.
/// </summary>
public sealed unsafe class GlobalPoolJob : IParallelTask
{
    // Below about 64K values read (a few µs on one core) waking a second worker costs more than it saves.
    private const long ParallelThreshold = 1 << 16;

    // The call in progress, read by the workers.
    private PoolKind _kind;
    private float* _x, _y;
    private int _batch, _pixels, _channels, _sliceChannels;

    /// <summary>y[n, c] = mean (or max) over the pixels of x[n, pixel, c] (see <see cref="GlobalPoolKernels.ChannelsLast"/>).</summary>
    public void Run(PoolKind kind, float* x, float* y, int batch, int pixels, int channels, WorkerPool pool)
    {
        _kind = kind;
        _x = x;
        _y = y;
        (_batch, _pixels, _channels) = (batch, pixels, channels);
        // One slice per thread.
        int wanted = pool.ThreadCount > 1 && (long)batch * pixels * channels >= ParallelThreshold ? Math.Clamp(channels / 16, 1, pool.ThreadCount) : 1;
        (int slices, _sliceChannels) = ChannelSlices.Of(channels, wanted);
        pool.For(slices, this);
    }

    void IParallelTask.Execute(int index)
    {
        int c0 = index * _sliceChannels;
        GlobalPoolKernels.ChannelsLast(_kind, _x, _y, _batch, _pixels, _channels, c0, Math.Min(_channels, c0 + _sliceChannels));
    }
}
