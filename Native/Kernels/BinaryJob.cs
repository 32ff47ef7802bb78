using TrtEngine.Native.Network;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// A broadcasting binary operation (<see cref="BinaryKernels.Apply"/>) shared out over a <see cref="WorkerPool"/>: the
/// output is cut along its outermost dimension longer than one, and each piece runs with its slice of both inputs
/// (or the whole input where it broadcasts along that dimension). One instance per engine layer; not thread-safe.
/// </summary>
public sealed unsafe class BinaryJob : IParallelTask
{
    // Below about 64K outputs (a few µs on one core) waking a second worker costs more than it saves.
    private const long ParallelThreshold = 1 << 16;

    private readonly int[] _aShape = new int[BinaryKernels.MaxRank], _bShape = new int[BinaryKernels.MaxRank], _yShape = new int[BinaryKernels.MaxRank];
    private BinaryOp _op;
    private float* _a, _b, _y;
    private int _aRank, _bRank, _yRank, _dim, _chunks;
    private PartClaims _claims;
    private nint _aStep, _bStep, _yStep;

    public void Run(BinaryOp op, float* a, ReadOnlySpan<int> aShape, float* b, ReadOnlySpan<int> bShape, float* y, ReadOnlySpan<int> yShape, WorkerPool pool)
    {
        int dim = 0;
        while (dim < yShape.Length && yShape[dim] == 1) dim++;
        if (pool.ThreadCount == 1 || dim == yShape.Length || Shapes.ElementCount(yShape) < ParallelThreshold || yShape.Length > BinaryKernels.MaxRank)
        {
            BinaryKernels.Apply(op, a, aShape, b, bShape, y, yShape);
            return;
        }
        _op = op;
        _a = a;
        _b = b;
        _y = y;
        (_aRank, _bRank, _yRank) = (aShape.Length, bShape.Length, yShape.Length);
        aShape.CopyTo(_aShape);
        bShape.CopyTo(_bShape);
        yShape.CopyTo(_yShape);
        _dim = dim;
        _yStep = Step(yShape, dim);
        _aStep = Step(aShape, dim - (yShape.Length - aShape.Length));
        _bStep = Step(bShape, dim - (yShape.Length - bShape.Length));
        _chunks = Math.Min(yShape[dim], pool.ThreadCount * 4);
        _claims.Reset(_chunks, Math.Min(_chunks, pool.ThreadCount));
        pool.For(Math.Min(_chunks, pool.ThreadCount), this);
    }

    /// <summary>Floats between neighbouring indices of dimension <paramref name="d"/>; 0 where the operand broadcasts along it.</summary>
    private static nint Step(ReadOnlySpan<int> shape, int d) =>
        d < 0 || shape[d] == 1 ? 0 : (nint)Shapes.ElementCount(shape[(d + 1)..]);

    void IParallelTask.Execute(int index)
    {
        for (int walk = 0, chunk; (chunk = _claims.Next(ref walk)) >= 0;) RunChunk(chunk);
    }

    private void RunChunk(int chunk)
    {
        int length = _yShape[_dim], start = (int)((long)length * chunk / _chunks), end = (int)((long)length * (chunk + 1) / _chunks);
        Span<int> y = stackalloc int[_yRank], a = stackalloc int[_aRank], b = stackalloc int[_bRank];
        _yShape.AsSpan(0, _yRank).CopyTo(y);
        _aShape.AsSpan(0, _aRank).CopyTo(a);
        _bShape.AsSpan(0, _bRank).CopyTo(b);
        y[_dim] = end - start;
        if (_aStep != 0) a[_dim - (_yRank - _aRank)] = end - start;
        if (_bStep != 0) b[_dim - (_yRank - _bRank)] = end - start;
        BinaryKernels.Apply(_op, _a + start * _aStep, a, _b + start * _bStep, b, _y + start * _yStep, y);
    }
}
