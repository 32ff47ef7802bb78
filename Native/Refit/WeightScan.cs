using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TrtEngine.Native.Refit;

/// <summary>The scans a refit makes of model weight values: bitwise equality, and NaN or infinity.</summary>
internal static class WeightScan
{
    /// <summary>Whether two arrays hold the same bits (so -0 differs from 0, and a NaN equals the same NaN); stops at the first difference.</summary>
    public static bool SameBits(float[] a, float[] b) =>
        ReferenceEquals(a, b) || MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan()));

    /// <summary>Whether two arrays have one length and the same bits in their first value: false proves them different.</summary>
    public static bool SameFirstBits(float[] a, float[] b) =>
        a.Length == b.Length && (a.Length == 0 || BitConverter.SingleToInt32Bits(a[0]) == BitConverter.SingleToInt32Bits(b[0]));

    /// <summary>The names of the values that hold a NaN or an infinity.</summary>
    public static HashSet<string> NonFinite(IReadOnlyDictionary<string, float[]> values) =>
        values.Where(v => FirstNonFinite(v.Value) >= 0).Select(v => v.Key).ToHashSet(StringComparer.Ordinal);

    /// <summary>The index of the first NaN or infinity (exponent bits all set), or -1; vectorised, as it reads every weight.</summary>
    /// <remarks>Optimised at once: a refit loop calls it a few times per refit, too few for tiering to reach its loop soon.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int FirstNonFinite(ReadOnlySpan<float> data)
    {
        var bits = MemoryMarshal.Cast<float, uint>(data);
        ref uint start = ref MemoryMarshal.GetReference(bits);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // Four vectors a step and one branch: a refit that adopts a weight as it is scans it (a branch per vector
            // ran as long as copying it). The step with the value is searched again below.
            var exponent = Vector512.Create(0x7F800000u);
            for (; i <= bits.Length - 64; i += 64)
            {
                var found = Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)i) & exponent, exponent) |
                            Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)i + 16) & exponent, exponent) |
                            Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)i + 32) & exponent, exponent) |
                            Vector512.Equals(Vector512.LoadUnsafe(ref start, (nuint)i + 48) & exponent, exponent);
                if (found != Vector512<uint>.Zero) break;
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var exponent = Vector256.Create(0x7F800000u);
            for (; i <= bits.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref start, (nuint)i) & exponent, exponent)) break;
        }
        for (; i < data.Length; i++)
            if (!float.IsFinite(data[i])) return i;
        return -1;
    }
}
