namespace TrtEngine.Core.Cache;

/// <summary>The verdict on one item of a cache directory (Test-TrtCache): an entry that verifies, or what is wrong with it.</summary>
public sealed class TrtCacheCheck
{
    /// <summary>The entry's key; null for a leftover that is not an entry (an orphaned temporary directory).</summary>
    public required string? Key { get; init; }

    public required string? ModelName { get; init; }
    public required string Path { get; init; }

    /// <summary>The cache the item belongs to: what Remove-, Lock- and Unlock-TrtCache act on when a check is piped to them.</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>
    /// Ok, Corrupt (checksum, size or manifest wrong), Incompatible (another format or machine), Orphaned, or Foreign (a
    /// directory holding files the cache did not write, which it never removes).
    /// </summary>
    public required string Status { get; init; }

    public required string? Problem { get; init; }
    public bool Repaired { get; internal set; }

    public bool IsHealthy => Status == "Ok";

    /// <summary>As a line of text ("Corrupt 3fa2…: checksum mismatch"), where a string holds it.</summary>
    public override string ToString() => $"{Status} {Key ?? Path}" + (Problem is null ? "" : $": {Problem}");
}
