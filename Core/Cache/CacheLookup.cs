namespace TrtEngine.Core.Cache;

/// <summary>The result of looking a key up: the plan bytes on a hit, or why it was a miss.</summary>
public sealed record CacheLookup(byte[]? Plan, CacheManifest? Manifest, string? MissReason)
{
    public bool IsHit => Plan is not null;

    public static CacheLookup Miss(string reason) => new(null, null, reason);
}
