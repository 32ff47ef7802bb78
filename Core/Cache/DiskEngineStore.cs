using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using TrtEngine.Native.Plan;

namespace TrtEngine.Core.Cache;

/// <summary>
/// The default store: one directory per key holding plan.trtp (weight-stripped), manifest.json and access.log.
/// Entries appear by an atomic rename of a finished temporary directory; hits append a fixed-length line to
/// access.log (so concurrent hits lose nothing and reading the count is one stat); inserts evict the least
/// recently used entries, by last access, until the bytes on disk fit the limit. A pinned entry (an empty "pinned"
/// file in its directory, so pinning never rewrites the manifest) is never evicted. Inserts, eviction, pinning and
/// removals that respect pins hold the store lock, so a pin racing an eviction is either seen by it or comes after it.
/// </summary>
public sealed class DiskEngineStore : IEngineStore
{
    private const string PlanFile = "plan.trtp", ManifestFile = "manifest.json", AccessLog = "access.log", PinMarker = "pinned";
    private const int AccessLineLength = 25; // "yyyy-MM-ddTHH:mm:ss.fffZ\n"
    private const int MaxManifestBytes = 1 << 20;
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly Action<string>? _log;

    /// <param name="sizeLimit">Bytes on disk the entries may take; null for the configured limit (5 GiB unless set).</param>
    public DiskEngineStore(string directory, long? sizeLimit = null, Action<string>? log = null)
    {
        sizeLimit ??= CacheOptions.Current().SizeLimitBytes;
        if (sizeLimit <= 0) throw new ArgumentOutOfRangeException(nameof(sizeLimit), sizeLimit, "The cache size limit must be positive.");
        Directory = System.IO.Path.GetFullPath(directory);
        SizeLimit = sizeLimit.Value;
        _log = log;
    }

    public string Directory { get; }
    public long SizeLimit { get; }
    public string Location => Directory;

    /// <summary>The configured default: $TRTENGINE_CACHE_DIR, the settings file, or the platform's per-user cache folder.</summary>
    public static string DefaultDirectory => CacheOptions.Current().CacheDirectory;

    public CacheLookup TryLoad(string key)
    {
        string dir = EntryDirectory(key);
        if (!System.IO.Directory.Exists(dir)) return CacheLookup.Miss("no entry for this key");
        string? problem;
        CacheManifest? manifest = null;
        byte[]? plan = null;
        try
        {
            problem = Verify(dir, key, out manifest, out plan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            problem = $"unreadable entry ({e.Message})";
        }
        if (problem is null) return new CacheLookup(plan, manifest, null);
        Remove(key);
        return CacheLookup.Miss(problem + "; the entry was removed");
    }

    /// <summary>
    /// Verifies every entry without loading its engine (manifest, sizes, checksum, format, machine) and finds
    /// temporary directories left by writers that died (older than <paramref name="orphanAge"/>, so a write in
    /// progress is never reported).
    /// </summary>
    public IReadOnlyList<TrtCacheCheck> Check(TimeSpan orphanAge)
    {
        var checks = new List<TrtCacheCheck>();
        foreach (var entry in List())
        {
            string? problem;
            try
            {
                problem = Verify(entry.Path, entry.Key, out _, out _);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                problem = $"corrupt entry: unreadable ({e.Message})";
            }
            checks.Add(new TrtCacheCheck
            {
                Key = entry.Key, ModelName = entry.ModelName, Path = entry.Path, Problem = problem,
                Status = problem is null ? "Ok" : problem.StartsWith("incompatible", StringComparison.Ordinal) ? "Incompatible" : "Corrupt",
            });
        }
        string temp = System.IO.Path.Combine(Directory, ".tmp");
        if (System.IO.Directory.Exists(temp))
            foreach (string dir in System.IO.Directory.EnumerateDirectories(temp))
                if (DateTime.UtcNow - System.IO.Directory.GetLastWriteTimeUtc(dir) > orphanAge)
                    checks.Add(new TrtCacheCheck { Key = null, ModelName = null, Path = dir, Status = "Orphaned", Problem = "a temporary directory left by a write or removal that did not finish" });
        return checks;
    }

    /// <summary>Removes what a check found broken: the entry, or the orphaned directory.</summary>
    public void Repair(TrtCacheCheck check)
    {
        if (check.IsHealthy) return;
        if (check.Key is not null) Remove(check.Key);
        else if (System.IO.Path.GetDirectoryName(check.Path) == System.IO.Path.Combine(Directory, ".tmp")) System.IO.Directory.Delete(check.Path, recursive: true);
        else throw new ArgumentException($"'{check.Path}' is not an item of the cache in {Directory}.");
        check.Repaired = true;
    }

    private static string? Verify(string dir, string key, out CacheManifest? manifest, out byte[]? plan)
    {
        plan = null;
        manifest = null;
        var manifestInfo = new FileInfo(System.IO.Path.Combine(dir, ManifestFile));
        if (!manifestInfo.Exists) return "corrupt entry: no manifest";
        if (manifestInfo.Length > MaxManifestBytes) return "corrupt entry: the manifest is too large";
        manifest = JsonSerializer.Deserialize<CacheManifest>(File.ReadAllBytes(manifestInfo.FullName), Json);
        if (manifest is null) return "corrupt entry: empty manifest";
        if (manifest.EntryFormat != CacheManifest.CurrentEntryFormat) return $"incompatible entry format {manifest.EntryFormat} (this version uses {CacheManifest.CurrentEntryFormat})";
        if (manifest.PlanFormat != EnginePlan.FormatVersion) return $"incompatible plan format {manifest.PlanFormat} (this version uses {EnginePlan.FormatVersion})";
        if (manifest.Key != key) return $"corrupt entry: its manifest belongs to key {manifest.Key}";
        if (manifest.InstructionSet != HardwareInfo.CurrentInstructionSet) return $"incompatible hardware: built for {manifest.InstructionSet}, this machine is {HardwareInfo.CurrentInstructionSet}";
        var planInfo = new FileInfo(System.IO.Path.Combine(dir, PlanFile));
        if (!planInfo.Exists) return "corrupt entry: no plan";
        if (planInfo.Length != manifest.PlanBytes) return $"corrupt entry: the plan has {planInfo.Length} bytes, the manifest says {manifest.PlanBytes}";
        plan = File.ReadAllBytes(planInfo.FullName);
        if (Convert.ToHexString(SHA256.HashData(plan)) != manifest.PlanSha256) return "corrupt entry: the plan's checksum does not match";
        return null;
    }

    public bool Save(string key, byte[] strippedPlan, CacheManifest manifest)
    {
        string dir = EntryDirectory(key);
        manifest.Key = key;
        manifest.CreatedUtc = DateTime.UtcNow;
        manifest.PlanBytes = strippedPlan.LongLength;
        manifest.PlanSha256 = Convert.ToHexString(SHA256.HashData(strippedPlan));
        byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, Json);
        if (strippedPlan.LongLength + manifestBytes.LongLength > SizeLimit)
        {
            _log?.Invoke($"Entry {key} ({strippedPlan.LongLength + manifestBytes.LongLength} bytes) is larger than the cache limit ({SizeLimit} bytes); it was not stored.");
            return false;
        }
        string temp = System.IO.Path.Combine(CreatePrivateDirectory(".tmp"), $"{key}.{Guid.NewGuid():N}");
        try
        {
            System.IO.Directory.CreateDirectory(temp);
            WriteDurably(System.IO.Path.Combine(temp, PlanFile), strippedPlan);
            WriteDurably(System.IO.Path.Combine(temp, ManifestFile), manifestBytes);
            using (HoldStoreLock())
            {
                var others = List().Where(e => e.Key != key).ToList();
                long pinnedBytes = others.Where(e => e.Pinned).Sum(e => e.SizeBytes);
                if (pinnedBytes + strippedPlan.LongLength + manifestBytes.LongLength > SizeLimit)
                {
                    _log?.Invoke($"Entry {key} was not stored: pinned entries take {pinnedBytes} of the cache's {SizeLimit} bytes, which leaves no room for its {strippedPlan.LongLength + manifestBytes.LongLength} bytes. Unlock-TrtCache some entries or raise the limit.");
                    return false;
                }
                // A rebuild of a pinned entry stays pinned: the pin belongs to the key.
                if (File.Exists(System.IO.Path.Combine(dir, PinMarker))) File.Create(System.IO.Path.Combine(temp, PinMarker)).Dispose();
                if (System.IO.Directory.Exists(dir)) MoveAside(dir);
                System.IO.Directory.Move(temp, dir);
                Count(Counter.Builds);
                Evict(others, protect: key);
            }
        }
        finally
        {
            if (System.IO.Directory.Exists(temp)) System.IO.Directory.Delete(temp, recursive: true);
        }
        return true;
    }

    public void RecordMiss(string key) => Count(Counter.Misses);

    /// <summary>What the cache has done since its directory was created, and what it holds now.</summary>
    public TrtCacheSummary Summary()
    {
        var entries = List();
        long Read(Counter counter)
        {
            var file = new FileInfo(System.IO.Path.Combine(Directory, ".stats", counter.ToString().ToLowerInvariant()));
            return file.Exists ? file.Length : 0;
        }
        return new TrtCacheSummary
        {
            CacheDirectory = Directory,
            Entries = entries.Count,
            PinnedEntries = entries.Count(e => e.Pinned),
            SizeBytes = entries.Sum(e => e.SizeBytes),
            SizeLimitBytes = SizeLimit,
            Hits = Read(Counter.Hits),
            Misses = Read(Counter.Misses),
            Builds = Read(Counter.Builds),
            Evictions = Read(Counter.Evictions),
        };
    }

    private enum Counter { Hits, Misses, Builds, Evictions }

    /// <summary>Each event appends one byte to its counter file: concurrent processes lose nothing and a count is one stat.</summary>
    private void Count(Counter counter)
    {
        try
        {
            string path = System.IO.Path.Combine(CreatePrivateDirectory(".stats"), counter.ToString().ToLowerInvariant());
            using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            file.WriteByte((byte)'.');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log?.Invoke($"Could not count a cache {counter.ToString().ToLowerInvariant()[..^1]}: {e.Message}");
        }
    }

    public void RecordHit(string key)
    {
        Count(Counter.Hits);
        string line = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) + "\n";
        try
        {
            using var log = new FileStream(System.IO.Path.Combine(EntryDirectory(key), AccessLog), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            log.Write(System.Text.Encoding.ASCII.GetBytes(line));
        }
        catch (DirectoryNotFoundException)
        {
            // Removed by another process after the hit was loaded: the engine is fine, there is nothing to count.
        }
    }

    public IDisposable AcquireBuildLock(string key, CancellationToken cancel)
    {
        string path = System.IO.Path.Combine(CreatePrivateDirectory(".locks"), EntryName(key) + ".lock");
        var wait = Stopwatch.StartNew();
        bool reported = false;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            try
            {
                // An exclusive open is an OS lock that dies with its process: a crashed builder leaves no lock behind.
                var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                ReportStaleOwner(stream, key);
                stream.SetLength(0);
                stream.Write(System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));
                stream.Flush();
                if (reported) _log?.Invoke($"Got the build lock for {key} after {wait.Elapsed.TotalSeconds:F1} s.");
                return stream;
            }
            catch (IOException) when (!cancel.IsCancellationRequested)
            {
                if (!reported) _log?.Invoke($"Another process is building {key}; waiting for it.");
                reported = true;
                cancel.WaitHandle.WaitOne(50);
            }
        }
    }

    private void ReportStaleOwner(FileStream stream, string key)
    {
        var buffer = new byte[16];
        int n = stream.Read(buffer);
        if (n > 0 && int.TryParse(System.Text.Encoding.ASCII.GetString(buffer, 0, n), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid != Environment.ProcessId && !ProcessExists(pid))
            _log?.Invoke($"Recovered the build lock of {key} left by process {pid}, which is gone.");
    }

    private static bool ProcessExists(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public IReadOnlyList<TrtCacheEntry> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var entries = new List<TrtCacheEntry>();
        foreach (string dir in System.IO.Directory.EnumerateDirectories(Directory))
        {
            string key = System.IO.Path.GetFileName(dir);
            if (!CacheKey.IsWellFormed(key)) continue;
            try
            {
                entries.Add(Describe(dir, key));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Removed by another process while listing.
            }
        }
        return entries;
    }

    /// <summary>The entry for a key as it is now; null when there is none.</summary>
    public TrtCacheEntry? Find(string key)
    {
        string dir = EntryDirectory(key);
        try
        {
            return System.IO.Directory.Exists(dir) ? Describe(dir, key) : null;
        }
        catch (DirectoryNotFoundException)
        {
            return null; // removed while it was read
        }
    }

    private TrtCacheEntry Describe(string dir, string key)
    {
        CacheManifest? manifest = null;
        try
        {
            var info = new FileInfo(System.IO.Path.Combine(dir, ManifestFile));
            if (info.Exists && info.Length <= MaxManifestBytes) manifest = JsonSerializer.Deserialize<CacheManifest>(File.ReadAllBytes(info.FullName), Json);
        }
        catch (JsonException)
        {
        }
        long size = 0;
        foreach (var file in new DirectoryInfo(dir).EnumerateFiles()) size += file.Length;
        var log = new FileInfo(System.IO.Path.Combine(dir, AccessLog));
        DateTime created = manifest?.CreatedUtc.ToLocalTime() ?? System.IO.Directory.GetCreationTime(dir);
        return new TrtCacheEntry
        {
            Key = key,
            ModelName = manifest?.ModelName ?? "(unreadable manifest)",
            SizeBytes = size,
            Created = created,
            LastAccessed = log.Exists ? log.LastWriteTime : created,
            HitCount = log.Exists ? log.Length / AccessLineLength : 0,
            Path = dir,
            CacheDirectory = Directory,
            FormatVersion = manifest?.EntryFormat ?? 0,
            FullEngineBytes = manifest?.FullEngineBytes ?? 0,
            Pinned = File.Exists(System.IO.Path.Combine(dir, PinMarker)),
        };
    }

    /// <summary>Removes an entry, pinned or not; false when it was not there.</summary>
    public bool Remove(string key) => Remove(key, includePinned: true) == CacheRemoval.Removed;

    /// <summary>Removes an entry unless it is pinned and <paramref name="includePinned"/> is false (checked under the store lock).</summary>
    public CacheRemoval Remove(string key, bool includePinned)
    {
        string dir = EntryDirectory(key);
        if (!System.IO.Directory.Exists(dir)) return CacheRemoval.NotFound;
        using (HoldStoreLock())
        {
            if (!includePinned && File.Exists(System.IO.Path.Combine(dir, PinMarker))) return CacheRemoval.Pinned;
            try
            {
                MoveAside(dir);
                return CacheRemoval.Removed;
            }
            catch (DirectoryNotFoundException)
            {
                return CacheRemoval.NotFound; // another process removed it first
            }
        }
    }

    /// <summary>Pins an entry against eviction (or unpins it); false when there is no entry for the key.</summary>
    public bool SetPinned(string key, bool pinned)
    {
        string marker = System.IO.Path.Combine(EntryDirectory(key), PinMarker);
        using (HoldStoreLock())
        {
            try
            {
                if (pinned) new FileStream(marker, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete).Dispose();
                else if (System.IO.Directory.Exists(System.IO.Path.GetDirectoryName(marker))) File.Delete(marker);
                else return false;
                return true;
            }
            catch (DirectoryNotFoundException)
            {
                return false; // removed, or the key has no entry
            }
        }
    }

    /// <summary>
    /// Least recently used unpinned entries first, by last access, until the bytes on disk fit; the entry just stored
    /// stays. Runs under the store lock.
    /// </summary>
    private void Evict(IReadOnlyList<TrtCacheEntry> others, string protect)
    {
        long total = others.Sum(e => e.SizeBytes) + Describe(EntryDirectory(protect), protect).SizeBytes;
        foreach (var entry in others.Where(e => !e.Pinned).OrderBy(e => e.LastAccessed))
        {
            if (total <= SizeLimit) break;
            try
            {
                MoveAside(entry.Path);
            }
            catch (DirectoryNotFoundException)
            {
                continue; // removed by another process (not under the lock) since it was listed
            }
            total -= entry.SizeBytes;
            Count(Counter.Evictions);
            _log?.Invoke($"Evicted {entry.Key} ({entry.ModelName}, {entry.SizeBytes} bytes, last used {entry.LastAccessed:u}) to keep the cache under {SizeLimit} bytes.");
        }
    }

    /// <summary>
    /// The lock that orders inserts, evictions, pins and pin-respecting removals between threads and processes (an
    /// exclusive open is an OS lock that dies with its holder). Held for file renames only, so waits are short.
    /// </summary>
    private FileStream HoldStoreLock()
    {
        string path = System.IO.Path.Combine(CreatePrivateDirectory(".locks"), "store.lock");
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (IsLockedElsewhere(e))
            {
                Thread.Sleep(5); // held by another thread or process; any other I/O error (a read-only disk) propagates
            }
        }
    }

    /// <summary>Renames the directory out of sight (atomic), then deletes it.</summary>
    /// <summary>
    /// The error of an exclusive open that another holder blocks: EWOULDBLOCK from flock on Linux (11) and macOS (35),
    /// a sharing or lock violation on Windows.
    /// </summary>
    private static bool IsLockedElsewhere(IOException e) =>
        e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    private void MoveAside(string dir)
    {
        string trash = System.IO.Path.Combine(CreatePrivateDirectory(".tmp"), $"removed.{System.IO.Path.GetFileName(dir)}.{Guid.NewGuid():N}");
        System.IO.Directory.Move(dir, trash);
        System.IO.Directory.Delete(trash, recursive: true);
    }

    private static void WriteDurably(string path, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    private string CreatePrivateDirectory(string name)
    {
        string path = System.IO.Path.Combine(Directory, name);
        if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(path);
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            System.IO.Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return path;
    }

    private string EntryDirectory(string key) => System.IO.Path.Combine(Directory, EntryName(key));

    private static string EntryName(string key) =>
        CacheKey.IsWellFormed(key) ? key : throw new ArgumentException($"'{key}' is not a cache key (keys are {CacheKey.Length} lowercase hex digits).", nameof(key));
}
