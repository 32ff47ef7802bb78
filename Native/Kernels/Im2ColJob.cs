using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The im2col of one image, its output rows (channels-last) or input channels (NCHW) shared out over a
/// <see cref="WorkerPool"/> (the GEMM that follows runs on all cores, so a single-threaded unfold would leave them
/// idle). One instance per layer; not thread-safe.
/// </summary>
public sealed unsafe class Im2ColJob : IParallelTask, IRowTask
{
    private float* _x, _col;
    private int _channels;
    private bool _nchw;
    private Window2D _window;
    private RowSchedule _schedule;

    public void RunChannelsLast(float* x, int channels, in Window2D w, float* col, WorkerPool pool)
    {
        (_channels, _window, _nchw) = (channels, w, false);
        _x = x;
        _col = col;
        _schedule.Plan(1, w.OutH, (long)w.OutH * w.OutW * w.KernelH * w.KernelW * channels, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    /// <summary>The NCHW unfold (<see cref="Im2Col.Run"/>) of all of an image's channels, a few channels a chunk.</summary>
    public void RunNchw(float* x, int channels, in Window2D w, float* col, WorkerPool pool)
    {
        (_channels, _window, _nchw) = (channels, w, true);
        _x = x;
        _col = col;
        _schedule.Plan(channels, 1, (long)channels * w.OutH * w.OutW * w.KernelH * w.KernelW, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        if (_nchw)
        {
            nint taps = _window.KernelH * _window.KernelW, pixels = (nint)_window.OutH * _window.OutW;
            Im2Col.Run(_x + (nint)plane * _window.InH * _window.InW, 1, _window, _col + plane * taps * pixels);
            return;
        }
        Im2Col.RunChannelsLast(_x, _channels, _window, _col + (nint)row0 * _window.OutW * _window.KernelH * _window.KernelW * _channels,
            row0 * _window.OutW, row1 * _window.OutW);
    }
}
