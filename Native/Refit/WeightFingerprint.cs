using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace TrtEngine.Native.Refit;

/// <summary>
/// A 64-bit XXH3 hash of a model weight's bytes, kept with the engine's state: a refit compares it to skip the
/// recipes whose inputs did not change. Hashing runs at memory speed, far below the cost of re-deriving a weight.
/// </summary>
internal static class WeightFingerprint
{
    public static ulong Of(float[] values) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>
    /// Fingerprints by name of the values that are all finite: a refit skips the finiteness check of a weight whose
    /// fingerprint it finds unchanged, so values with NaN or infinity get none and are checked whenever supplied.
    /// </summary>
    public static Dictionary<string, ulong> Of(IReadOnlyDictionary<string, float[]> values)
    {
        var prints = new Dictionary<string, ulong>(values.Count, StringComparer.Ordinal);
        foreach (var (name, data) in values)
            if (Refitter.FirstNonFinite(data) < 0) prints[name] = Of(data);
        return prints;
    }
}
