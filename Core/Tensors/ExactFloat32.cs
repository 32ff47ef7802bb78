using System.Globalization;

namespace TrtEngine.Core.Tensors;

/// <summary>
/// Whether float32 holds a value: an integer exactly (every one up to 2^24, beyond that only those with few enough
/// significant bits), a double rounded to nearest unless it is finite and beyond float32's range (an infinity then,
/// reported later as a value that is not finite). Readers refuse the others rather than change them silently.
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

    /// <summary>The double rounded to float32; false where a finite one rounds to infinity.</summary>
    public static bool Holds(double value, out float single)
    {
        single = (float)value;
        return !float.IsInfinity(single) || double.IsInfinity(value);
    }

    /// <summary>What the weight readers say of a weight's value <see cref="Holds(double, out float)"/> refused.</summary>
    internal static string BeyondRange(double value, long index) =>
        $"value {value.ToString(CultureInfo.InvariantCulture)} at index {index} is beyond float32's range (±3.4E+38), in which TrtEngine computes; scale the weight into range or store it as float32";
}
