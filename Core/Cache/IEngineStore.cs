namespace TrtEngine.Core.Cache;

/// <summary>
/// Where weight-stripped engines are kept. The disk store is the default; a user can plug in another
/// (a shared service, an instrumented store in tests).
/// </summary>
public interface IEngineStore
{
    /// <summary>A description of where entries live (a directory for the disk store).</summary>
    string Location { get; }

    /// <summary>Loads and verifies an entry. A missing, corrupt or incompatible entry is a miss with a reason (a bad one is also removed).</summary>
    CacheLookup TryLoad(string key);

    /// <summary>Stores an entry atomically: readers see all of it or none of it.</summary>
    /// <returns>False when the entry was not stored because it does not fit the size limit (alone, or beside the pinned entries).</returns>
    bool Save(string key, byte[] strippedPlan, CacheManifest manifest);

    /// <summary>Counts a hit and refreshes the entry's last access.</summary>
    void RecordHit(string key);

    /// <summary>Counts a conversion that found no usable entry and built.</summary>
    void RecordMiss(string key);

    /// <summary>Holds the key's build lock until disposed, so concurrent processes build a key once.</summary>
    IDisposable AcquireBuildLock(string key, CancellationToken cancel);

    IReadOnlyList<TrtCacheEntry> List();

    /// <summary>Removes an entry; false when it was not there.</summary>
    bool Remove(string key);

    /// <summary>
    /// The hint kept for a conversion of the same model with the same settings (<paramref name="identity"/>); null
    /// when there is none (a store need not keep hints). Only a guess: the caller still computes the key and compares.
    /// </summary>
    CacheHint? Hint(string identity) => null;

    /// <summary>Keeps the hint for <paramref name="identity"/>, for <see cref="Hint"/>.</summary>
    void RememberHint(string identity, CacheHint hint) { }

    /// <summary>The entry for a key when it is intact, read without recording or removing anything; null otherwise.</summary>
    CacheLookup? TryPeek(string key) => null;

    /// <summary>
    /// Whether a usable entry is stored under the key, as far as can be told without reading its plan (a lookup verifies
    /// that too); to say what a conversion would do.
    /// </summary>
    bool Contains(string key) => TryPeek(key) is not null;
}
