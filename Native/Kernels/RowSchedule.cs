using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Cuts planes × rows into contiguous chunks of (plane, row) items for a <see cref="Runtime.WorkerPool"/> loop:
/// one chunk when the work is small, otherwise a few per thread so a descheduled thread does not hold up the rest.
/// A chunk may start and end mid-plane, so few large planes split as well as many small ones.
/// </summary>
internal struct RowSchedule
{
    // Below about 64K values read (a few µs on one core) waking a second worker costs more than it saves.
    private const long ParallelThreshold = 1 << 16;

    private int _rows;
    private long _items;

    public int Chunks { get; private set; }

    /// <summary>Cuts <paramref name="planes"/> × <paramref name="rows"/> for <paramref name="work"/> values read in all (a window's outputs × its taps).</summary>
    public void Plan(int planes, int rows, long work, int threads)
    {
        _rows = rows;
        _items = (long)planes * rows;
        Chunks = _items == 0 ? 0 : threads > 1 && work >= ParallelThreshold ? (int)Math.Min(_items, threads * 4) : 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Run<TTask>(int chunk, TTask task) where TTask : IRowTask
    {
        long item = _items * chunk / Chunks, end = _items * (chunk + 1) / Chunks;
        while (item < end)
        {
            int plane = (int)(item / _rows), row0 = (int)(item % _rows);
            int row1 = (int)Math.Min(_rows, row0 + (end - item));
            task.RunRows(plane, row0, row1);
            item += row1 - row0;
        }
    }
}
