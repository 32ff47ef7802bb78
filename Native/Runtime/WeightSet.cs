namespace TrtEngine.Native.Runtime;

/// <summary>
/// The bytes of an engine's weights, one pinned buffer per engine weight. Immutable while it is an engine's current
/// set: a refit makes a new set (sharing unchanged buffers) and swaps it in, so a running inference sees the old set
/// or the new, never a mix. Readers hold the set (<see cref="Engine.EnterState"/>) while they use its buffers; once
/// a set has been swapped out and no one holds it, a later refit may write new weights into its buffers.
/// </summary>
/// <param name="modelValues">
/// Which buffers are model values too (a value's own pinned array that an identity recipe took as it is: a caller's
/// copy, a file's read; none when null): such a buffer is never rewritten as a spare, nor handed back as one, since a
/// later state, or the pool's next renter, may hold it as a value.
/// </param>
internal sealed class WeightSet(float[][] buffers, bool[]? modelValues = null)
{
    private int _readers;
    private volatile bool _shared;

    public float[][] Buffers { get; } = buffers;

    /// <summary>Whether buffer <paramref name="i"/> is also a model value.</summary>
    public bool IsModelValue(int i) => modelValues is not null && modelValues[i];

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
