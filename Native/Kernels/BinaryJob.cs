using TrtEngine.Native.Network;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// A broadcasting binary operation shared out over a <see cref="WorkerPool"/> by ranges of the output's two outermost
/// dims (images and rows: [N, H] channels-last, [N, C] planar). One instance per layer; not thread-safe.
/// </summary>
public sealed unsafe class BinaryJob : IParallelTask, IRowTask
{
    private readonly int[] _a = new int[BinaryKernels.MaxRank], _b = new int[BinaryKernels.MaxRank], _y = new int[BinaryKernels.MaxRank];
    private BinaryOp _op;
    private float* _pa, _pb, _py;
    private int _rank;
    private RowSchedule _schedule;

    /// <summary>As <see cref="BinaryKernels.Apply"/>, on all of the pool's threads when the output is large.</summary>
    public void Run(BinaryOp op, float* a, ReadOnlySpan<int> aShape, float* b, ReadOnlySpan<int> bShape, float* y, ReadOnlySpan<int> yShape, WorkerPool pool)
    {
        if (yShape.Length > BinaryKernels.MaxRank || aShape.Length > yShape.Length || bShape.Length > yShape.Length)
            throw new ArgumentException($"Broadcast ranks must be at most {BinaryKernels.MaxRank} and the inputs no larger than the output.");
        // Every shape right-aligned to the output's rank, at least 2, with leading 1s.
        _rank = Math.Max(2, yShape.Length);
        Align(aShape, _a);
        Align(bShape, _b);
        Align(yShape, _y);
        _op = op;
        _pa = a;
        _pb = b;
        _py = y;
        _schedule.Plan(_y[0], _y[1], Shapes.ElementCount(_y.AsSpan(0, _rank)), pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    private void Align(ReadOnlySpan<int> shape, int[] aligned)
    {
        aligned.AsSpan(0, _rank - shape.Length).Fill(1);
        shape.CopyTo(aligned.AsSpan(_rank - shape.Length));
    }

    void IParallelTask.Execute(int index) => _schedule.Run(index, this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        Span<int> a = stackalloc int[_rank], b = stackalloc int[_rank], y = stackalloc int[_rank];
        float* pa = Part(_pa, _a, a, plane, row0, row1), pb = Part(_pb, _b, b, plane, row0, row1), py = Part(_py, _y, y, plane, row0, row1);
        BinaryKernels.Apply(_op, pa, a, pb, b, py, y);
    }

    /// <summary>The part of an operand that image <paramref name="plane"/>, rows [row0, row1) of the output read, and its shape.</summary>
    private float* Part(float* p, int[] shape, Span<int> part, int plane, int row0, int row1)
    {
        shape.AsSpan(0, _rank).CopyTo(part);
        long row = Shapes.ElementCount(shape.AsSpan(2, _rank - 2));
        part[0] = 1;
        if (shape[0] != 1) p += plane * shape[1] * row;
        if (shape[1] != 1)
        {
            p += row0 * row;
            part[1] = row1 - row0;
        }
        return p;
    }
}
