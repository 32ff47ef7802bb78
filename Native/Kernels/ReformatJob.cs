using System.Runtime.CompilerServices;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Moves 4-D tensors between NCHW and channels-last NHWC, tiles of pixels shared out over a <see cref="WorkerPool"/>.
/// One instance per engine layer; not thread-safe.
/// </summary>
public sealed unsafe class ReformatJob : IParallelTask, IRowTask
{
    // Pixels per tile: a tile of every channel's run stays in L1 while it is transposed.
    private const int TilePixels = 64;

    private float* _x, _y;
    private int _channels, _pixels;
    private bool _toChannelsLast;
    private RowSchedule _schedule;

    /// <summary>y[n, p, c] = x[n, c, p] when <paramref name="toChannelsLast"/>, else y[n, c, p] = x[n, p, c].</summary>
    public void Reformat(float* x, float* y, int batch, int channels, int pixels, bool toChannelsLast, WorkerPool pool)
    {
        _x = x;
        _y = y;
        _channels = channels;
        _pixels = pixels;
        _toChannelsLast = toChannelsLast;
        _schedule.Plan(batch, (pixels + TilePixels - 1) / TilePixels, (long)batch * channels * pixels, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IRowTask.RunRows(int image, int tile0, int tile1)
    {
        int channels = _channels, pixels = _pixels;
        nint offset = (nint)image * channels * pixels;
        float* x = _x + offset, y = _y + offset;
        for (int p0 = tile0 * TilePixels; p0 < Math.Min(pixels, tile1 * TilePixels); p0 += TilePixels)
        {
            int p1 = Math.Min(pixels, p0 + TilePixels);
            if (_toChannelsLast)
            {
                CopyKernels.InterleavePlanes(x + p0, pixels, channels, p1 - p0, y + (nint)p0 * channels);
                continue;
            }
            for (int c = 0; c < channels; c++)
            {
                float* planar = y + (nint)c * pixels, interleaved = x + c;
                for (int p = p0; p < p1; p++) planar[p] = interleaved[(nint)p * channels];
            }
        }
    }
}
