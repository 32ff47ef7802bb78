namespace TrtEngine.Native.Runtime;

/// <summary>
/// The bytes of an engine's weights, one pinned buffer per engine weight. Immutable while it is an engine's current
/// set: a refit makes a new set (sharing unchanged buffers) and swaps it in, so a running inference sees the old set
/// or the new, never a mix. Readers hold the set (<see cref="Engine.EnterState"/>) while they use its buffers; once
/// a set has been swapped out and no one holds it, a later refit may write new weights into its buffers.
/// </summary>
internal sealed class WeightSet(float[][] buffers)
{
    private int _readers;
    private volatile bool _shared;

    public float[][] Buffers { get; } = buffers;

    public long Bytes
    {
        get
        {
            long total = 0;
            foreach (var b in Buffers) total += b.LongLength * sizeof(float);
            return total;
        }
    }

    /// <summary>True once another engine holds this set too (a copy with renamed inputs): its buffers are never reused.</summary>
    public bool IsShared => _shared;

    public void MarkShared() => _shared = true;

    public bool IsHeld => Volatile.Read(ref _readers) != 0;

    public void Enter() => Interlocked.Increment(ref _readers);

    public void Exit() => Interlocked.Decrement(ref _readers);
}
