namespace TrtEngine.Core.Cache;

/// <summary>One cached weight-stripped engine, as Get-TrtCache shows it.</summary>
public sealed class TrtCacheEntry
{
    public required string Key { get; init; }
    public required string ModelName { get; init; }
    /// <summary>Bytes of the entry's files on disk (its plan, manifest, and access log of a byte per hit), as the size limit counts them.</summary>
    public required long SizeBytes { get; init; }
    public required DateTime Created { get; init; }
    public required DateTime LastAccessed { get; init; }
    public required long HitCount { get; init; }

    /// <summary>The entry's directory.</summary>
    public required string Path { get; init; }

    public required string CacheDirectory { get; init; }
    public required int FormatVersion { get; init; }

    /// <summary>Size of the engine with its weights when it was built, for comparison with the stripped entry.</summary>
    public long FullEngineBytes { get; init; }

    /// <summary>Pinned entries are never evicted, and bulk removals skip them unless forced (Lock-TrtCache, Unlock-TrtCache).</summary>
    public bool Pinned { get; init; }

    public override string ToString() => Key;
}
