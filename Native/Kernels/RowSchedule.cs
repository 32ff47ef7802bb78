using System.Runtime.CompilerServices;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Cuts planes × rows into contiguous parts of (plane, row) items for a <see cref="Runtime.WorkerPool"/> loop:
/// one part when the work is small, otherwise a few per thread so a descheduled thread does not hold up the rest,
/// claimed home first (<see cref="PartClaims"/>).
/// A part may start and end mid-plane, so few large planes split as well as many small ones.
/// </summary>
internal struct RowSchedule
{
    // Below about 64K values read (a few µs on one core) waking a second worker costs more than it saves.
    private const long ParallelThreshold = 1 << 16;

    private int _rows, _parts;
    private long _items;
    private PartClaims _claims;

    /// <summary>Loop indices to run (<see cref="Run"/> each): one a thread, or one in all when the work is small.</summary>
    public int Chunks { get; private set; }

    /// <summary>Cuts <paramref name="planes"/> × <paramref name="rows"/> for <paramref name="work"/> values read in all (a window's outputs × its taps).</summary>
    public void Plan(int planes, int rows, long work, int threads)
    {
        _rows = rows;
        _items = (long)planes * rows;
        _parts = _items == 0 ? 0 : threads > 1 && work >= ParallelThreshold ? (int)Math.Min(_items, threads * 4) : 1;
        Chunks = Math.Min(_parts, threads);
        _claims.Reset(_parts, Chunks);
    }

    /// <summary>Runs the parts the calling thread claims (see <see cref="PartClaims"/>): what it does in the loop, whatever its index.</summary>
    public readonly void Run<TTask>(TTask task) where TTask : IRowTask
    {
        for (int walk = 0, part; (part = _claims.Next(ref walk)) >= 0;)
            RunPart(part, task);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private readonly void RunPart<TTask>(int part, TTask task) where TTask : IRowTask
    {
        long item = _items * part / _parts, end = _items * (part + 1) / _parts;
        while (item < end)
        {
            int plane = (int)(item / _rows), row0 = (int)(item % _rows);
            int row1 = (int)Math.Min(_rows, row0 + (end - item));
            task.RunRows(plane, row0, row1);
            item += row1 - row0;
        }
    }
}
