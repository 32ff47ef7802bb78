namespace TrtEngine.Core.Cache;

/// <summary>An engine cache's totals (Get-TrtCache -Summary): what it holds against its limit, and its hits, misses, builds and evictions.</summary>
public sealed class TrtCacheSummary
{
    public required string CacheDirectory { get; init; }
    public required int Entries { get; init; }

    /// <summary>Entries pinned against eviction (counted in Entries).</summary>
    public int PinnedEntries { get; init; }

    public required long SizeBytes { get; init; }
    public required long SizeLimitBytes { get; init; }
    public required long Hits { get; init; }
    public required long Misses { get; init; }
    /// <summary>Entries built and stored; a build the cache could not take counts as a miss only.</summary>
    public required long Builds { get; init; }
    public required long Evictions { get; init; }

    /// <summary>Hits over hits and misses; 0 before the first lookup.</summary>
    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);

    public override string ToString() => $"{Entries} entries, {SizeBytes} of {SizeLimitBytes} bytes in {CacheDirectory}; {Hits} hits, {Misses} misses";
}
