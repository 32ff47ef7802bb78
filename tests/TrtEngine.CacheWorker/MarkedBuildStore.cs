using TrtEngine.Core.Cache;

namespace TrtEngine.CacheWorker;

/// <summary>
/// The disk store, with a marker file created exclusively while a key's build lock is held: if two processes ever
/// held one key's lock at once, the second finds the marker and says so (DOUBLE-BUILD), with no clock involved.
/// </summary>
internal sealed class MarkedBuildStore(DiskEngineStore inner, string markers) : IEngineStore
{
    public string Location => inner.Location;
    public CacheLookup TryLoad(string key) => inner.TryLoad(key);
    public bool Save(string key, byte[] strippedPlan, CacheManifest manifest) => inner.Save(key, strippedPlan, manifest);
    public void RecordHit(string key) => inner.RecordHit(key);
    public void RecordMiss(string key) => inner.RecordMiss(key);
    public IReadOnlyList<TrtCacheEntry> List() => inner.List();
    public bool Remove(string key) => inner.Remove(key);

    public IDisposable AcquireBuildLock(string key, CancellationToken cancel)
    {
        var held = inner.AcquireBuildLock(key, cancel);
        string marker = Path.Combine(markers, key);
        try
        {
            File.Open(marker, FileMode.CreateNew).Dispose();
        }
        catch (IOException)
        {
            Console.WriteLine($"DOUBLE-BUILD {key}");
            return held;
        }
        return new Marked(held, marker);
    }

    private sealed class Marked(IDisposable held, string marker) : IDisposable
    {
        public void Dispose()
        {
            File.Delete(marker);
            held.Dispose();
        }
    }
}
