using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TrtEngine.Native.Refit;

/// <summary>
/// A 64-bit XXH3 hash of a model weight's bytes, kept with the engine's state: a refit compares it to skip the
/// recipes whose inputs did not change. Hashing runs at memory speed, far below the cost of re-deriving a weight.
/// </summary>
internal static class WeightFingerprint
{
    // Small enough to stay in L1 between the finiteness check and the hash.
    private const int ChunkFloats = 4096;

    public static ulong Of(float[] values) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>
    /// The fingerprint (as <see cref="Of(float[])"/>) and the index of the first NaN or infinity (-1 if none) in one
    /// pass: each chunk is checked, then hashed while it is still in cache, so a refit reads every weight once.
    /// </summary>
    public static (ulong Print, int FirstNonFinite) Scan(float[] values)
    {
        if (values.Length <= ChunkFloats) return (Of(values), FirstNonFinite(values));
        var hash = new XxHash3();
        int bad = -1;
        for (int start = 0; start < values.Length; start += ChunkFloats)
        {
            var chunk = values.AsSpan(start, Math.Min(ChunkFloats, values.Length - start));
            if (bad < 0 && FirstNonFinite(chunk) is int i and >= 0) bad = start + i;
            hash.Append(MemoryMarshal.AsBytes(chunk));
        }
        return (hash.GetCurrentHashAsUInt64(), bad);
    }

    /// <summary>
    /// Fingerprints by name of the values that are all finite: a refit skips the finiteness check of a weight whose
    /// fingerprint it finds unchanged, so values with NaN or infinity get none and are checked whenever supplied.
    /// </summary>
    public static Dictionary<string, ulong> Of(IReadOnlyDictionary<string, float[]> values)
    {
        var prints = new Dictionary<string, ulong>(values.Count, StringComparer.Ordinal);
        foreach (var (name, data) in values)
            if (Scan(data) is (var print, < 0)) prints[name] = print;
        return prints;
    }

    /// <summary>The index of the first NaN or infinity (exponent bits all set), or -1; vectorised, as it reads every weight.</summary>
    public static int FirstNonFinite(ReadOnlySpan<float> data)
    {
        var bits = MemoryMarshal.Cast<float, uint>(data);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var exponent = Vector256.Create(0x7F800000u);
            for (; i <= bits.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(bits), (nuint)i) & exponent, exponent)) break;
        }
        for (; i < data.Length; i++)
            if (!float.IsFinite(data[i])) return i;
        return -1;
    }
}
