using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Concatenation as rows: for each index over the dims outside the axis, every input's contiguous run is copied in
/// turn into the output's row, so the output is written in order. Rows are shared out over a <see cref="WorkerPool"/>.
/// One instance per layer; not thread-safe.
/// </summary>
public sealed unsafe class ConcatJob(int inputs) : IParallelTask, IRowTask
{
    private readonly nint[] _sources = new nint[inputs];
    private readonly nint[] _runs = new nint[inputs];
    private float* _y;
    private nint _row;
    private RowSchedule _schedule;

    /// <summary>Input <paramref name="i"/>'s address and the floats it puts in each output row, set before <see cref="Run"/>.</summary>
    public void SetInput(int i, float* x, nint run)
    {
        _sources[i] = (nint)x;
        _runs[i] = run;
    }

    /// <summary>Copies <paramref name="rows"/> rows, each the sum of the inputs' runs long.</summary>
    public void Run(float* y, int rows, WorkerPool pool)
    {
        _y = y;
        _row = 0;
        foreach (nint run in _runs) _row += run;
        _schedule.Plan(1, rows, rows * (long)_row, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(index, this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        float* y = _y + row0 * _row;
        for (nint r = row0; r < row1; r++)
            for (int i = 0; i < _runs.Length; i++)
            {
                nint bytes = _runs[i] * sizeof(float);
                Buffer.MemoryCopy((float*)_sources[i] + r * _runs[i], y, bytes, bytes);
                y += _runs[i];
            }
    }
}
