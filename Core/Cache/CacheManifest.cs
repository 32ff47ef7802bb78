namespace TrtEngine.Core.Cache;

/// <summary>The description stored beside a cache entry's plan (JSON): what it is, what it was built for, and how to verify it.</summary>
public sealed class CacheManifest
{
    /// <summary>Version of the entry layout (manifest and files); entries of another version are misses.</summary>
    public const int CurrentEntryFormat = 1;

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
}
