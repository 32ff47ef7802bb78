using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// A channel shuffle (<see cref="ChannelShuffleKernels.Interleave"/>) shared out over a <see cref="WorkerPool"/> by
/// ranges of pixels (channels-last) or images (planar). One instance per layer; not thread-safe.
/// </summary>
public sealed unsafe class ChannelShuffleJob(int groups) : IParallelTask, IRowTask
{
    private readonly nint[] _sources = new nint[groups];
    private nint _sourceStride, _inner;
    private float* _y;
    private int _count;
    private RowSchedule _schedule;

    /// <summary>The group addresses, filled by the caller before <see cref="Run"/>.</summary>
    public Span<nint> Sources => _sources;

    public void Run(nint sourceStride, float* y, int outer, int count, nint inner, WorkerPool pool)
    {
        _sourceStride = sourceStride;
        _y = y;
        _count = count;
        _inner = inner;
        _schedule.Plan(1, outer, (long)outer * _sources.Length * count * inner, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(index, this);

    void IRowTask.RunRows(int plane, int row0, int row1) => ChannelShuffleKernels.Interleave(_sources, _sourceStride, _y, row0, row1, _count, _inner);
}
