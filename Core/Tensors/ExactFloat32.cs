namespace TrtEngine.Core.Tensors;

/// <summary>
/// Whether float32 holds an integer exactly: every one up to 2^24, beyond that only those with few enough significant
/// bits. Readers refuse the others rather than change them silently.
/// </summary>
public static class ExactFloat32
{
    // The bounds keep the cast back in range: float32 rounds long.MaxValue up to 2^63, which no long holds.
    public static bool Holds(long value)
    {
        float f = value;
        return f < 9.2e18f && f > -9.2e18f && (long)f == value;
    }

    public static bool Holds(ulong value)
    {
        float f = value;
        return f < 1.8e19f && (ulong)f == value;
    }
}
