namespace TrtEngine.Native.Runtime;

/// <summary>
/// The bytes of an engine's weights, one pinned buffer per engine weight. Immutable: a refit makes a new set
/// (sharing unchanged buffers) and swaps it in, so a running inference sees the old set or the new, never a mix.
/// </summary>
internal sealed class WeightSet(float[][] buffers)
{
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
}
