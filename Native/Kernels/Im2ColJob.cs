using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The channels-last im2col of one image, its output rows shared out over a <see cref="WorkerPool"/> (the GEMM that
/// follows runs on all cores, so a single-threaded unfold would leave them idle). One instance per layer; not thread-safe.
/// </summary>
public sealed unsafe class Im2ColJob : IParallelTask, IRowTask
{
    private float* _x, _col;
    private int _channels, _groups;
    private Window2D _window;
    private RowSchedule _schedule;

    /// <summary>Unfolds the image; with several <paramref name="groups"/>, each row in group order (see <see cref="Im2Col.RunChannelsLastGrouped"/>).</summary>
    public void RunChannelsLast(float* x, int channels, in Window2D w, float* col, WorkerPool pool, int groups = 1)
    {
        _x = x;
        _channels = channels;
        _groups = groups;
        _window = w;
        _col = col;
        _schedule.Plan(1, w.OutH, (long)w.OutH * w.OutW * w.KernelH * w.KernelW * channels, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(index, this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        float* col = _col + (nint)row0 * _window.OutW * _window.KernelH * _window.KernelW * _channels;
        if (_groups > 1) Im2Col.RunChannelsLastGrouped(_x, _channels, _groups, _window, col, row0 * _window.OutW, row1 * _window.OutW);
        else Im2Col.RunChannelsLast(_x, _channels, _window, col, row0 * _window.OutW, row1 * _window.OutW);
    }
}
