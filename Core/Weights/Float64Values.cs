using System.Globalization;

namespace TrtEngine.Core.Weights;

/// <summary>
/// Float64 weight values as the engine computes with them, float32, rounded to nearest. A finite value beyond float32's
/// range is refused by the readers: rounded, it would be infinite, and a refit would then report an infinity the file does not hold.
/// </summary>
internal static class Float64Values
{
    /// <summary>The value rounded to float32; false where a finite value rounds to infinity.</summary>
    public static bool TryNarrow(double value, out float single)
    {
        single = (float)value;
        return !float.IsInfinity(single) || double.IsInfinity(value);
    }

    /// <summary>What is wrong with a value <see cref="TryNarrow"/> refused, for the reader's error.</summary>
    public static string BeyondRange(double value, long index) =>
        $"value {value.ToString(CultureInfo.InvariantCulture)} at index {index} is beyond float32's range (±3.4E+38), in which TrtEngine computes; scale the weight into range or store it as float32";
}
