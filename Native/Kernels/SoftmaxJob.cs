using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Softmax along the middle axis of x viewed as [outer, axisLength, inner], its slices' rows (inner 1) or groups of
/// eight columns shared out over a <see cref="WorkerPool"/>: each column is computed whole on one thread, so the bits
/// are the same at any thread count (<see cref="SoftmaxKernels.Slice"/>). A transformer's attention runs one row a
/// query and head (ViT-Ti/16: 591 rows of 197 a layer, 11% of its call on one core). One instance per layer; not
/// thread-safe.
/// </summary>
internal sealed unsafe class SoftmaxJob : IParallelTask, IRowTask
{
    private float* _x, _y;
    private int _axisLength, _inner;
    private RowSchedule _schedule;

    public void Run(float* x, float* y, int outer, int axisLength, int inner, WorkerPool pool)
    {
        if ((long)outer * axisLength * inner == 0) return;
        _x = x;
        _y = y;
        (_axisLength, _inner) = (axisLength, inner);
        _schedule.Plan(outer, (inner + 7) / 8, (long)outer * axisLength * inner, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    void IRowTask.RunRows(int plane, int row0, int row1) =>
        SoftmaxKernels.Slice(_x, _y, plane, _axisLength, _inner, row0 * 8, Math.Min(_inner, row1 * 8));
}
