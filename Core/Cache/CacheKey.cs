using System.Security.Cryptography;
using System.Text;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Core.Cache;

/// <summary>
/// The cache key: SHA-256 over the network's canonical structure (never trained weights' values, though the graph's
/// own constants are structure; never tensor or node names), the input profiles, every setting that changes the built engine, the plan format version, and the
/// hardware the tactics are timed for. 40 hex digits: a safe directory name.
/// </summary>
public static class CacheKey
{
    public const int Length = 40;

    public static string Compute(NetworkDefinition network, IReadOnlyList<ShapeProfile> profiles, BuilderConfig config, HardwareInfo hardware)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string part) => hash.AppendData(Encoding.UTF8.GetBytes(part + "\n"));
        Add($"plan-format={EnginePlan.FormatVersion}");
        Add($"isa={hardware.InstructionSet};threads={hardware.Threads}");
        Add($"optimization-level={config.OptimizationLevel}");
        foreach (var p in profiles) Add($"profile={Shapes.Format(p.Min)}|{Shapes.Format(p.Opt)}|{Shapes.Format(p.Max)}");
        hash.AppendData(NetworkStructure.Serialize(network));
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant()[..Length];
    }

    /// <summary>True for strings shaped like a key, so a key from a user or a file never names a path outside the cache.</summary>
    public static bool IsWellFormed(string key) => key.Length == Length && key.All(char.IsAsciiHexDigitLower);
}
