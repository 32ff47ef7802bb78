namespace TrtEngine.Core.Cache;

/// <summary>What a removal that respects pins did.</summary>
public enum CacheRemoval
{
    Removed,
    NotFound,

    /// <summary>The entry is pinned and was kept.</summary>
    Pinned,
}
