using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The channels-last global pool shared out over a <see cref="WorkerPool"/> by images. (Splitting one image's
/// channels between threads was measured slower: both threads then stream the whole image.) One instance per layer;
/// not thread-safe.
/// </summary>
public sealed unsafe class GlobalPoolJob : IParallelTask
{
    // Below about 64K inputs waking a second worker costs more than it saves.
    private const long ParallelThreshold = 1 << 16;

    private PoolKind _kind;
    private float* _x, _y;
    private int _batch, _pixels, _channels, _chunks;

    public void RunChannelsLast(PoolKind kind, float* x, float* y, int batch, int pixels, int channels, WorkerPool pool)
    {
        _kind = kind;
        _x = x;
        _y = y;
        _batch = batch;
        _pixels = pixels;
        _channels = channels;
        _chunks = (long)batch * pixels * channels >= ParallelThreshold ? batch : Math.Min(batch, 1);
        pool.For(_chunks, this);
    }

    void IParallelTask.Execute(int index)
    {
        for (int n = (int)((long)_batch * index / _chunks), end = (int)((long)_batch * (index + 1) / _chunks); n < end; n++)
            GlobalPoolKernels.ChannelsLast(_kind, _x + (nint)n * _pixels * _channels, _y + (nint)n * _channels, _pixels, _channels);
    }
}
