using System.Security.Cryptography;
using System.Text.Json;

namespace TrtEngine.Core.Cache;

/// <summary>The description stored beside a cache entry's plan (JSON): what it is, what it was built for, and how to verify it.</summary>
public sealed class CacheManifest
{
    /// <summary>Version of the entry layout (manifest and files); entries of another version are misses.</summary>
    /// <remarks>
    /// 2: the manifest carries a checksum of its own contents. 3: a hit appends one byte to the access log, not a
    /// 25-byte line (a log of hits had grown without bound and outweighed the engines the size limit is for).
    /// </remarks>
    public const int CurrentEntryFormat = 3;

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public int EntryFormat { get; set; } = CurrentEntryFormat;
    public int PlanFormat { get; set; }
    public string Key { get; set; } = "";
    public string ModelName { get; set; } = "";
    public string? ModelPath { get; set; }
    public string[] InputNames { get; set; } = [];
    public string[] InputProfiles { get; set; } = [];
    public string[] OutputNames { get; set; } = [];
    public int OptimizationLevel { get; set; }
    public string InstructionSet { get; set; } = "";
    public int Threads { get; set; }
    public DateTime CreatedUtc { get; set; }
    public double BuildMilliseconds { get; set; }
    public long PlanBytes { get; set; }
    public long FullEngineBytes { get; set; }
    public string PlanSha256 { get; set; } = "";

    /// <summary>SHA-256 of the manifest's other fields, so damage to any of them (not only the plan) is detected.</summary>
    public string Checksum { get; set; } = "";

    /// <summary>The checksum the manifest's fields call for: SHA-256 of its JSON with an empty <see cref="Checksum"/>.</summary>
    public string ComputeChecksum()
    {
        string stored = Checksum;
        Checksum = "";
        try
        {
            return Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(this, Json)));
        }
        finally
        {
            Checksum = stored;
        }
    }
}
