namespace TrtEngine.Core.Cache;

/// <summary>The cache settings in force and where each comes from (Get-TrtCacheOption).</summary>
public sealed class TrtCacheOptions
{
    public required string CacheDirectory { get; init; }

    /// <summary>TRTENGINE_CACHE_DIR, Settings (Set-TrtCacheOption) or Default.</summary>
    public required string CacheDirectorySource { get; init; }

    public required long SizeLimitBytes { get; init; }

    /// <summary>Settings (Set-TrtCacheOption) or Default.</summary>
    public required string SizeLimitSource { get; init; }

    /// <summary>The per-user file Set-TrtCacheOption writes.</summary>
    public required string SettingsPath { get; init; }

    public override string ToString() => $"{CacheDirectory} ({CacheDirectorySource}), limit {SizeLimitBytes} bytes ({SizeLimitSource})";
}
