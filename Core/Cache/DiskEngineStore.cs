using System.Diagnostics;
using System.Globalization;
using System.IO.Enumeration;
using System.Security.Cryptography;
using System.Text.Json;
using TrtEngine.Native.Plan;

namespace TrtEngine.Core.Cache;

/// <summary>
/// The default store: one directory per key holding plan.trtp (weight-stripped), manifest.json and access.log.
/// Entries appear by an atomic rename of a finished temporary directory; hits append one byte to access.log (so
/// concurrent hits lose nothing, reading the count is one stat, and a million hits take a megabyte, which the size
/// limit counts like the rest of the entry); inserts evict the least
/// recently used entries, by last access, until the bytes on disk fit the limit. A pinned entry (an empty "pinned"
/// file in its directory, so pinning never rewrites the manifest) is never evicted. Inserts, eviction, pinning and
/// removals that respect pins hold the store lock, so a pin racing an eviction is either seen by it or comes after it.
/// The store deletes only what it writes: a directory holding anything else (a user's folder whose name looks like a
/// key, in a cache directory that is a user's folder) is reported by <see cref="Check"/> and never removed.
/// </summary>
public sealed class DiskEngineStore : IEngineStore
{
    private const string PlanFile = "plan.trtp", ManifestFile = "manifest.json", AccessLog = "access.log", PinMarker = "pinned";

    /// <summary>All the store writes in an entry directory, and in the temporary directories of .tmp (entries being written or removed).</summary>
    private static readonly string[] EntryFiles = [PlanFile, ManifestFile, AccessLog, PinMarker];

    private const int MaxManifestBytes = 1 << 20;
    private const string HintsDirectory = ".hints", HintTemporaries = "*.tmp";
    private const string TimingCacheTemporaries = "timing.cache.*.tmp"; // TimingCache.Save writes aside, then renames
    private const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly Action<string>? _log;
    private readonly Lazy<long> _sizeLimit;
    private HintIndex? _hints;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _pinsToRestore = new();

    /// <param name="sizeLimit">
    /// Bytes on disk the entries may take; null for the configured limit (5 GiB unless set), read from the settings
    /// file when first needed (an insert, a summary), so listing, checking and removing never depend on that file.
    /// </param>
    public DiskEngineStore(string directory, long? sizeLimit = null, Action<string>? log = null)
    {
        if (sizeLimit <= 0) throw new ArgumentOutOfRangeException(nameof(sizeLimit), sizeLimit, "The cache size limit must be positive.");
        // Without a trailing separator ("./cache/", as tab completion writes it): Repair compares the directories of
        // the items it finds with this one, and Get-TrtCache shows it as CacheDirectory.
        Directory = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(directory));
        // PublicationOnly caches no exception: a settings file repaired meanwhile is read again.
        _sizeLimit = sizeLimit is { } given ? new Lazy<long>(given) : new Lazy<long>(CacheOptions.CurrentSizeLimit, LazyThreadSafetyMode.PublicationOnly);
        _log = log;
    }

    public string Directory { get; }
    public long SizeLimit => _sizeLimit.Value;

    /// <summary>
    /// Fault-injection seam for tests: called with a step's name (lock, temp, plan, manifest, publish, evict,
    /// access-log) just before the store writes to disk for it; a test throws here to simulate a full or read-only
    /// disk, or pauses here to kill the process at that point.
    /// </summary>
    internal Action<string>? BeforeWrite { get; init; }
    public string Location => Directory;

    /// <summary>The configured default: $TRTENGINE_CACHE_DIR, the settings file, or the platform's per-user cache folder.</summary>
    public static string DefaultDirectory => CacheOptions.CurrentDirectory();

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
        try
        {
            Remove(key);
        }
        catch (ForeignFilesException e)
        {
            return CacheLookup.Miss($"{problem}; the entry was kept: {e.Message}");
        }
        return CacheLookup.Miss(problem + "; the entry was removed");
    }

    /// <summary>
    /// Verifies every entry without loading its engine (manifest, sizes, checksum, format, machine) and finds
    /// temporary directories left by writers that died (older than <paramref name="orphanAge"/>, so a write in
    /// progress is never reported).
    /// </summary>
    public IReadOnlyList<TrtCacheCheck> Check(TimeSpan orphanAge)
    {
        var checks = List().Select(Check).OfType<TrtCacheCheck>().ToList();
        // An item that is gone by the time its age is read (1601 then) was a write or removal finishing, not an orphan.
        bool Old(FileSystemInfo item) => item.Exists && DateTime.UtcNow - item.LastWriteTimeUtc > orphanAge;
        string temp = System.IO.Path.Combine(Directory, ".tmp");
        if (System.IO.Directory.Exists(temp))
            foreach (var dir in new DirectoryInfo(temp).EnumerateDirectories())
                if (Old(dir))
                    checks.Add(Foreign(dir.FullName, null, null) ?? Orphan(dir.FullName, "a temporary directory left by a write or removal that did not finish"));
        foreach (var (dir, pattern, problem) in TemporaryFiles())
            if (System.IO.Directory.Exists(dir))
                foreach (var file in new DirectoryInfo(dir).EnumerateFiles(pattern))
                    if (Old(file))
                        checks.Add(Orphan(file.FullName, problem));
        return checks;
    }

    private TrtCacheCheck Orphan(string path, string problem) =>
        new() { Key = null, ModelName = null, Path = path, CacheDirectory = Directory, Status = "Orphaned", Problem = problem };

    /// <summary>
    /// Verifies one entry as <see cref="Check(TimeSpan)"/> does; null when it is gone. A problem is confirmed under the
    /// store lock, which a write replacing the entry or a removal holds: an entry met half replaced is looked at again
    /// once it is whole (or gone), not reported corrupt.
    /// </summary>
    public TrtCacheCheck? Check(TrtCacheEntry entry)
    {
        string? problem = Problem(entry.Path, entry.Key);
        // Never repaired (the files may be someone's), but said when the cache's own files in it are broken too: its model
        // is then rebuilt at every use.
        if (Foreign(entry.Path, entry.Key, entry.ModelName, problem) is { } foreign) return foreign;
        if (problem is not null)
        {
            try
            {
                using (HoldStoreLock())
                {
                    if (!System.IO.Directory.Exists(entry.Path)) return null;
                    problem = Problem(entry.Path, entry.Key);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A cache this user cannot write (read-only): no writer of ours can be replacing the entry.
            }
        }
        return new TrtCacheCheck
        {
            Key = entry.Key, ModelName = entry.ModelName, Path = entry.Path, CacheDirectory = Directory, Problem = problem,
            Status = problem is null ? "Ok" : problem.StartsWith("incompatible", StringComparison.Ordinal) ? "Incompatible" : "Corrupt",
        };
    }

    /// <summary>What is wrong with the entry in <paramref name="dir"/>, an unreadable one included; null when it verifies.</summary>
    private static string? Problem(string dir, string key)
    {
        try
        {
            return Verify(dir, key, out _, out _);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return $"corrupt entry: unreadable ({e.Message})";
        }
    }

    /// <summary>What an entry's directory holds that the store did not write (so will not remove it); empty for a real entry.</summary>
    public IReadOnlyList<string> ForeignFiles(TrtCacheEntry entry) => ForeignItems(entry.Path);

    /// <summary>A Foreign check for a directory holding files the store did not write; null when it holds none.</summary>
    private TrtCacheCheck? Foreign(string dir, string? key, string? modelName, string? broken = null) =>
        ForeignItems(dir) is { Count: > 0 } items
            ? new TrtCacheCheck
            {
                Key = key, ModelName = modelName, Path = dir, CacheDirectory = Directory, Status = "Foreign",
                Problem = $"holds files the cache did not write ({ForeignFilesException.Describe(items)}); it may be yours: check it, and remove it by hand if it should go" +
                          (broken is null ? "" : $". The cache's own files in it are broken too ({broken}), so its model is rebuilt at every use: move your files out, and Test-TrtCache -Repair removes it"),
            }
            : null;

    /// <summary>Files written aside and then renamed into place, which a process that dies in between leaves behind.</summary>
    private (string Directory, string Pattern, string Problem)[] TemporaryFiles() =>
    [
        (Directory, TimingCacheTemporaries, "a temporary timing cache left by a build that did not finish"),
        (System.IO.Path.Combine(Directory, HintsDirectory), HintTemporaries, "a temporary hint left by a conversion that did not finish"),
    ];

    /// <summary>
    /// Removes what a check found broken: the entry, or the orphaned directory or file. A directory holding files the
    /// store did not write is refused (<see cref="ForeignFilesException"/>), whatever the check says.
    /// </summary>
    public void Repair(TrtCacheCheck check)
    {
        if (check.IsHealthy) return;
        if (check.Key is not null)
        {
            if (!RemoveBroken(check.Key)) return;
        }
        else if (System.IO.Path.GetDirectoryName(check.Path) == System.IO.Path.Combine(Directory, ".tmp"))
        {
            try
            {
                RefuseForeign(check.Path);
                DeleteOwnFiles(check.Path);
            }
            catch (DirectoryNotFoundException)
            {
                return; // its writer or remover finished after all
            }
        }
        else if (TemporaryFiles().Any(t => System.IO.Path.GetDirectoryName(check.Path) == t.Directory && FileSystemName.MatchesSimpleExpression(t.Pattern, System.IO.Path.GetFileName(check.Path))))
            File.Delete(check.Path);
        else throw new ArgumentException($"'{check.Path}' is not an item of the cache in {Directory}.");
        check.Repaired = true;
    }

    /// <summary>
    /// Removes an entry that is still broken, judged again under the store lock: one another process rebuilt since
    /// the check (a hit that found it broken replaces it) stays. False when there was nothing to remove.
    /// </summary>
    private bool RemoveBroken(string key)
    {
        string dir = EntryDirectory(key);
        using (HoldStoreLock())
        {
            if (!System.IO.Directory.Exists(dir) || Problem(dir, key) is null) return false;
            MoveAside(dir);
            ForgetHints(key);
            return true;
        }
    }

    /// <summary>
    /// Hints live in .hints, one file per identity (named by its hash) holding "key weightBytes": a reader that meets
    /// a file being replaced reads no well-formed hint and goes without a guess.
    /// </summary>
    public CacheHint? Hint(string identity) => ReadHint(HintPath(identity));

    private static CacheHint? ReadHint(string path)
    {
        try
        {
            using var file = File.OpenHandle(path);
            Span<byte> bytes = stackalloc byte[64];
            string[] parts = System.Text.Encoding.ASCII.GetString(bytes[..RandomAccess.Read(file, bytes, 0)]).Split(' ');
            return parts is [var key, var size] && CacheKey.IsWellFormed(key) && long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out long weightBytes)
                ? new CacheHint(key, weightBytes) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void RememberHint(string identity, CacheHint hint)
    {
        try
        {
            BeforeWrite?.Invoke("hint");
            CreatePrivateDirectory(HintsDirectory);
            // Written aside and renamed over the hint, which replaces a link there instead of writing through it.
            string path = HintPath(identity), temp = $"{path}.{Guid.NewGuid():N}.tmp";
            try
            {
                using (var file = OpenPrivate(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                    file.Write(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{EntryName(hint.Key)} {hint.WeightBytes}")));
                File.Move(temp, path, overwrite: true);
            }
            finally
            {
                File.Delete(temp);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a guess for the next conversion: a cache that cannot take it costs that conversion some overlap.
        }
    }

    /// <summary>
    /// The entry's manifest and plan size checked, not the plan's hash (which a hit computes when it reads the plan):
    /// -WhatIf then says a truncated or incompatible entry would be rebuilt, at a manifest's read.
    /// </summary>
    public bool Contains(string key)
    {
        string dir = EntryDirectory(key);
        try
        {
            return System.IO.Directory.Exists(dir) && Verify(dir, key, out _, out _, readPlan: false) is null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return false;
        }
    }

    public CacheLookup? TryPeek(string key)
    {
        string dir = EntryDirectory(key);
        try
        {
            return System.IO.Directory.Exists(dir) && Verify(dir, key, out var manifest, out var plan) is null ? new CacheLookup(plan, manifest, null) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Deletes the hints naming an entry just removed: a lookup would ignore them, but every model file and settings
    /// the cache has seen would keep one. The hints are read once and read again only when the directory has changed
    /// since (a removal of many entries would otherwise read them all for each), and each is read again before it goes:
    /// one rewritten since to name another entry stays; one written meanwhile for a rebuilt entry may go, which costs
    /// the next conversion its overlap, nothing else.
    /// </summary>
    private void ForgetHints(string key)
    {
        string dir = System.IO.Path.Combine(Directory, HintsDirectory);
        try
        {
            if (!System.IO.Directory.Exists(dir)) return;
            var index = _hints;
            if (index is null || index.Written != System.IO.Directory.GetLastWriteTimeUtc(dir)) index = HintIndex.Read(dir);
            bool deleted = false;
            foreach (string file in index.ByKey[key])
                if (ReadHint(file)?.Key == key)
                {
                    File.Delete(file);
                    deleted = true;
                }
            // Its own deletions change the directory: noted, so the next removal does not read every hint again.
            _hints = deleted ? index with { Written = System.IO.Directory.GetLastWriteTimeUtc(dir) } : index;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The entry is gone either way; a hint left behind is ignored by every lookup.
        }
    }

    /// <summary>The hint files by the key they name, and the directory's last write when they were read.</summary>
    private sealed record HintIndex(DateTime Written, ILookup<string, string> ByKey)
    {
        public static HintIndex Read(string dir)
        {
            var written = System.IO.Directory.GetLastWriteTimeUtc(dir);
            return new HintIndex(written, System.IO.Directory.EnumerateFiles(dir)
                .Where(f => CacheKey.IsWellFormed(System.IO.Path.GetFileName(f)))
                .Select(f => (File: f, Hint: ReadHint(f)))
                .Where(h => h.Hint is not null)
                .ToLookup(h => h.Hint!.Key, h => h.File));
        }
    }

    private string HintPath(string identity) =>
        System.IO.Path.Combine(Directory, HintsDirectory, Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(identity)))[..CacheKey.Length].ToLowerInvariant());

    /// <param name="readPlan">Read the plan and check its hash; without it, its size only (<paramref name="plan"/> stays null).</param>
    private static string? Verify(string dir, string key, out CacheManifest? manifest, out byte[]? plan, bool readPlan = true)
    {
        plan = null;
        manifest = null;
        // A link could make the store read, count or delete files outside the cache: an entry never holds one.
        if (new DirectoryInfo(dir).LinkTarget is not null) return "corrupt entry: the entry is a link";
        if (new DirectoryInfo(dir).EnumerateFileSystemInfos().FirstOrDefault(f => f.LinkTarget is not null) is { } link) return $"corrupt entry: {link.Name} is a link";
        var manifestInfo = new FileInfo(System.IO.Path.Combine(dir, ManifestFile));
        if (!manifestInfo.Exists) return "corrupt entry: no manifest";
        if (manifestInfo.Length > MaxManifestBytes) return "corrupt entry: the manifest is too large";
        manifest = JsonSerializer.Deserialize<CacheManifest>(File.ReadAllBytes(manifestInfo.FullName), CacheManifest.Json);
        if (manifest is null) return "corrupt entry: empty manifest";
        if (manifest.EntryFormat != CacheManifest.CurrentEntryFormat) return $"incompatible entry format {manifest.EntryFormat} (this version uses {CacheManifest.CurrentEntryFormat})";
        if (manifest.Checksum != manifest.ComputeChecksum()) return "corrupt entry: the manifest's checksum does not match its contents";
        if (manifest.PlanFormat != EnginePlan.FormatVersion) return $"incompatible plan format {manifest.PlanFormat} (this version uses {EnginePlan.FormatVersion})";
        if (manifest.Key != key) return $"corrupt entry: its manifest belongs to key {manifest.Key}";
        if (manifest.InstructionSet != HardwareInfo.CurrentInstructionSet) return $"incompatible hardware: built for {manifest.InstructionSet}, this machine is {HardwareInfo.CurrentInstructionSet}";
        var planInfo = new FileInfo(System.IO.Path.Combine(dir, PlanFile));
        if (!planInfo.Exists) return "corrupt entry: no plan";
        if (planInfo.Length != manifest.PlanBytes) return $"corrupt entry: the plan has {planInfo.Length} bytes, the manifest says {manifest.PlanBytes}";
        if (!readPlan) return null;
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
        manifest.Checksum = manifest.ComputeChecksum();
        byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, CacheManifest.Json);
        if (strippedPlan.LongLength + manifestBytes.LongLength > SizeLimit)
        {
            _log?.Invoke($"Entry {key} ({strippedPlan.LongLength + manifestBytes.LongLength} bytes) is larger than the cache limit ({SizeLimit} bytes); it was not stored.");
            return false;
        }
        string temp = System.IO.Path.Combine(CreatePrivateDirectory(".tmp"), $"{key}.{Guid.NewGuid():N}");
        try
        {
            BeforeWrite?.Invoke("temp");
            CreatePrivate(temp);
            BeforeWrite?.Invoke("plan");
            WriteDurably(System.IO.Path.Combine(temp, PlanFile), strippedPlan);
            BeforeWrite?.Invoke("manifest");
            WriteDurably(System.IO.Path.Combine(temp, ManifestFile), manifestBytes);
            BeforeWrite?.Invoke("publish");
            using (HoldStoreLock())
            {
                var others = List().Where(e => e.Key != key).ToList();
                long pinnedBytes = others.Where(e => e.Pinned).Sum(e => e.SizeBytes);
                if (pinnedBytes + strippedPlan.LongLength + manifestBytes.LongLength > SizeLimit)
                {
                    _log?.Invoke($"Entry {key} was not stored: pinned entries take {pinnedBytes} of the cache's {SizeLimit} bytes, which leaves no room for its {strippedPlan.LongLength + manifestBytes.LongLength} bytes. Unlock-TrtCache some entries or raise the limit.");
                    return false;
                }
                // A rebuild of a pinned entry stays pinned, one removed as bad by this store first too: the pin belongs to the key.
                if (File.Exists(System.IO.Path.Combine(dir, PinMarker)) | _pinsToRestore.TryRemove(key, out _)) OpenPrivate(System.IO.Path.Combine(temp, PinMarker), FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose();
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
            AppendShared(System.IO.Path.Combine(CreatePrivateDirectory(".stats"), counter.ToString().ToLowerInvariant()), "."u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log?.Invoke($"Could not count a cache {counter.ToString().ToLowerInvariant()[..^1]}: {e.Message}");
        }
    }

    public void RecordHit(string key)
    {
        Count(Counter.Hits);
        try
        {
            BeforeWrite?.Invoke("access-log");
            // The time is the file's: its last write is the entry's last access.
            AppendShared(System.IO.Path.Combine(EntryDirectory(key), AccessLog), "."u8);
        }
        catch (DirectoryNotFoundException)
        {
            // Removed by another process after the hit was loaded: the engine is fine, there is nothing to count.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full or read-only disk must not cost the user the engine just loaded; only recency is lost.
            _log?.Invoke($"Could not record the hit on {key} in its access log: {e.Message}");
        }
    }

    /// <summary>
    /// Holds the build lock of <paramref name="key"/>'s shard: the keys that share its first two hex digits share one
    /// lock file, so the files stay at most 256 however many keys a cache sees (a file per key piled up, one for every
    /// configuration ever built). Deleting a key's file when its entry went would let two builders hold two files of
    /// one name. Builds of two keys of one shard at once take turns (one pair in 256).
    /// </summary>
    public IDisposable AcquireBuildLock(string key, CancellationToken cancel)
    {
        BeforeWrite?.Invoke("lock");
        CreatePrivateDirectory(".locks");
        string path = BuildLockPath(key);
        var wait = Stopwatch.StartNew();
        bool reported = false;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            try
            {
                // An exclusive open is an OS lock that dies with its process: a crashed builder leaves no lock behind.
                var stream = OpenPrivate(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                ReportStaleOwner(stream, key);
                stream.SetLength(0);
                stream.Write(System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));
                stream.Flush();
                if (reported) _log?.Invoke($"Got the build lock for {key} after {wait.Elapsed.TotalSeconds:F1} s.");
                return new BuildLock(stream);
            }
            // Any other failure (no space, an unwritable directory, a broken link) is not worth waiting for.
            catch (IOException e) when (IsLockedElsewhere(e) && !cancel.IsCancellationRequested)
            {
                if (!reported) _log?.Invoke($"Another build holds the lock of {key} (shared by the keys starting {key[..2]}); waiting for it.");
                reported = true;
                cancel.WaitHandle.WaitOne(50);
            }
        }
    }

    /// <summary>
    /// A held build lock. Released, it leaves its file empty: a process id in it then means the builder died holding it
    /// (the next builder said "left by process N, which is gone" after every clean build too; found by a QA helper).
    /// </summary>
    private sealed class BuildLock(FileStream stream) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                stream.SetLength(0);
            }
            catch (IOException)
            {
                // Released all the same: the id left only makes the next builder's verbose line a wrong guess.
            }
            stream.Dispose();
        }
    }

    /// <summary>The file <see cref="AcquireBuildLock"/> locks for <paramref name="key"/>.</summary>
    internal string BuildLockPath(string key) => System.IO.Path.Combine(Directory, ".locks", $"build-{EntryName(key)[..2]}.lock");

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
        if (!Exists()) return [];
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
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return Exists() && System.IO.Directory.Exists(dir) ? Describe(dir, key) : null;
            }
            catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
            {
                // Removed, or replaced by a rebuild, while it was read: look again, and take it for gone if it keeps moving.
                if (attempt == 3) return null;
            }
        }
    }

    private TrtCacheEntry Describe(string dir, string key)
    {
        CacheManifest? manifest = null;
        try
        {
            var info = new FileInfo(System.IO.Path.Combine(dir, ManifestFile));
            if (info.Exists && info.Length <= MaxManifestBytes) manifest = JsonSerializer.Deserialize<CacheManifest>(File.ReadAllBytes(info.FullName), CacheManifest.Json);
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
            HitCount = log.Exists ? log.Length : 0,
            Path = dir,
            CacheDirectory = Directory,
            FormatVersion = manifest?.EntryFormat ?? 0,
            FullEngineBytes = manifest?.FullEngineBytes ?? 0,
            Pinned = File.Exists(System.IO.Path.Combine(dir, PinMarker)),
        };
    }

    /// <summary>
    /// Removes an entry, pinned or not; false when it was not there. A conversion removes a bad entry this way (a lookup
    /// that finds it corrupt, a plan that does not fit the model) and then rebuilds it: a pinned one's pin is kept for this
    /// store's next <see cref="Save"/> of the key, as the pin belongs to the key.
    /// </summary>
    public bool Remove(string key)
    {
        bool pinned = File.Exists(System.IO.Path.Combine(EntryDirectory(key), PinMarker));
        if (Remove(key, includePinned: true) != CacheRemoval.Removed) return false;
        if (pinned) _pinsToRestore[key] = 0;
        return true;
    }

    /// <summary>Removes an entry unless it is pinned and <paramref name="includePinned"/> is false (checked under the store lock).</summary>
    public CacheRemoval Remove(string key, bool includePinned)
    {
        string dir = EntryDirectory(key);
        if (!Exists() || !System.IO.Directory.Exists(dir)) return CacheRemoval.NotFound;
        using (HoldStoreLock())
        {
            if (!includePinned && File.Exists(System.IO.Path.Combine(dir, PinMarker))) return CacheRemoval.Pinned;
            try
            {
                MoveAside(dir);
                ForgetHints(key);
                return CacheRemoval.Removed;
            }
            catch (DirectoryNotFoundException)
            {
                return CacheRemoval.NotFound; // another process removed it first
            }
        }
    }

    /// <summary>
    /// Pins an entry against eviction (or unpins it); false when there is no entry for the key. A directory holding
    /// files the store did not write is refused (<see cref="ForeignFilesException"/>): pinning would write into a
    /// user's folder, and unpinning delete a file of theirs that is named like the marker.
    /// </summary>
    public bool SetPinned(string key, bool pinned)
    {
        string marker = System.IO.Path.Combine(EntryDirectory(key), PinMarker);
        using (HoldStoreLock())
        {
            if (ForeignItems(EntryDirectory(key)) is { Count: > 0 } items) throw new ForeignFilesException(EntryDirectory(key), items, pinned ? "pin" : "unpin");
            try
            {
                if (pinned) OpenPrivate(marker, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete).Dispose();
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
        // A directory holding files the store did not write is not the cache's: never evicted, and its bytes do not
        // count (they would make every insert evict every entry).
        var owned = others.Where(e => ForeignItems(e.Path).Count == 0).ToList();
        long total = owned.Sum(e => e.SizeBytes) + Describe(EntryDirectory(protect), protect).SizeBytes;
        var foreign = others.Except(owned).ToList();
        if (foreign.Count > 0 && total + foreign.Sum(e => e.SizeBytes) > SizeLimit)
            _log?.Invoke($"{(foreign.Count == 1 ? "An entry holds" : $"{foreign.Count} entries hold")} files the cache did not write ({string.Join(", ", foreign.Select(e => e.Key).Take(3))}{(foreign.Count > 3 ? ", …" : "")}): " +
                         $"never evicted, {(foreign.Count == 1 ? "its" : "their")} {foreign.Sum(e => e.SizeBytes)} bytes are outside the limit, so the directory holds more than {SizeLimit} bytes. Test-TrtCache lists them.");
        foreach (var entry in owned.Where(e => !e.Pinned).OrderBy(e => e.LastAccessed))
        {
            if (total <= SizeLimit) break;
            try
            {
                BeforeWrite?.Invoke("evict");
                MoveAside(entry.Path);
            }
            catch (DirectoryNotFoundException)
            {
                continue; // removed by another process (not under the lock) since it was listed
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The new entry is stored either way: one that cannot go (a full disk, files that appeared since the
                // check above) leaves the cache over its limit until a later insert evicts again.
                _log?.Invoke($"Could not evict {entry.Key} ({entry.ModelName}): {e.Message}");
                continue;
            }
            ForgetHints(entry.Key);
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
        try
        {
            string path = System.IO.Path.Combine(CreatePrivateDirectory(".locks"), "store.lock");
            while (true)
            {
                try
                {
                    return OpenPrivate(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException e) when (IsLockedElsewhere(e))
                {
                    Thread.Sleep(5); // held by another thread or process; any other I/O error (a read-only disk) propagates
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not CacheDirectoryIsFileException)
        {
            // Said as what it means for the cache: the system's own words ("Read-only file system : '…/store.lock'") name a file of its inner workings.
            string message = $"The cache in {Directory} cannot be written ({e.Message}): pinning, removing and storing entries need write access to it.";
            throw e is UnauthorizedAccessException ? new UnauthorizedAccessException(message, e) : new IOException(message, e);
        }
    }

    /// <summary>
    /// The error of an exclusive open that another holder blocks: EWOULDBLOCK from flock on Linux (11) and macOS (35),
    /// a sharing or lock violation on Windows.
    /// </summary>
    private static bool IsLockedElsewhere(IOException e) =>
        e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    /// <summary>
    /// Renames the directory out of sight (atomic), then deletes it; one holding anything the store does not write is
    /// refused and left untouched.
    /// </summary>
    private void MoveAside(string dir)
    {
        RefuseForeign(dir);
        string trash = System.IO.Path.Combine(CreatePrivateDirectory(".tmp"), $"removed.{System.IO.Path.GetFileName(dir)}.{Guid.NewGuid():N}");
        System.IO.Directory.Move(dir, trash);
        // The rename keeps the entry's age: a check meeting the directory before it is deleted must not take it for an orphan.
        System.IO.Directory.SetLastWriteTimeUtc(trash, DateTime.UtcNow);
        DeleteOwnFiles(trash);
    }

    /// <summary>
    /// The names of what a directory holds that the store does not write there; it writes only <see cref="EntryFiles"/>
    /// (deleting a link under one of those names deletes the link, never its target). A directory that is a link holds
    /// nothing of its own: deleting it deletes the link. Empty for a directory that is gone.
    /// </summary>
    private static List<string> ForeignItems(string dir)
    {
        var info = new DirectoryInfo(dir);
        try
        {
            return info.LinkTarget is not null ? [] : info.EnumerateFileSystemInfos()
                .Where(item => item is not FileInfo || !EntryFiles.Contains(item.Name))
                .Select(item => item is DirectoryInfo ? item.Name + "/" : item.Name)
                .ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    private static void RefuseForeign(string dir)
    {
        if (ForeignItems(dir) is { Count: > 0 } items) throw new ForeignFilesException(dir, items);
    }

    /// <summary>
    /// Deletes the store's files in a directory, then the directory, never recursively: anything else that appeared
    /// since it was checked makes the last step fail and stays.
    /// </summary>
    private static void DeleteOwnFiles(string dir)
    {
        var info = new DirectoryInfo(dir);
        if (info.LinkTarget is null)
            foreach (var file in info.EnumerateFiles().Where(f => EntryFiles.Contains(f.Name)))
                file.Delete();
        info.Delete();
    }

    private static void WriteDurably(string path, byte[] bytes)
    {
        using var stream = OpenPrivate(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Opens a file of the cache; one it creates is readable and writable by the user only (0600 on Unix).</summary>
    /// <summary>
    /// Appends to a file other processes append to as well (a counter, an access log). .NET appends at the end it found
    /// when it opened the file (on Unix it does not ask for O_APPEND), so appends at the same moment overwrote each
    /// other (two processes appending 3,000 lines each kept 4,418): a writer holds the file's lock from finding the end
    /// to writing.
    /// </summary>
    private static void AppendShared(string path, ReadOnlySpan<byte> bytes)
    {
        using var file = OpenPrivate(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        bool locked = LockForAppend(file);
        try
        {
            file.Seek(0, SeekOrigin.End);
            file.Write(bytes);
            file.Flush();
        }
        finally
        {
            if (locked && !OperatingSystem.IsMacOS()) file.Unlock(0, 1);
        }
    }

    /// <summary>Locks a file's first byte, waiting up to a second for another process's append; false where .NET has no such locks (macOS).</summary>
    private static bool LockForAppend(FileStream file)
    {
        if (OperatingSystem.IsMacOS()) return false;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                file.Lock(0, 1);
                return true;
            }
            catch (IOException) when (attempt < 1000)
            {
                Thread.Sleep(1);
            }
        }
    }

    private static FileStream OpenPrivate(string path, FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = PrivateFileMode;
        return new FileStream(path, options);
    }

    /// <summary>Creates a directory (and the cache directory above it) usable by the user only (0700 on Unix).</summary>
    private static void CreatePrivate(string path)
    {
        if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(path);
        else System.IO.Directory.CreateDirectory(path, PrivateDirectoryMode);
    }

    private string CreatePrivateDirectory(string name)
    {
        string path = System.IO.Path.Combine(Directory, name);
        _ = Exists(); // a file in the way is this error, not "the file already exists"
        CreatePrivate(Directory);
        CreatePrivate(path);
        return path;
    }

    /// <summary>
    /// Whether the cache directory exists; a file in its place, or in place of a folder above it, is a
    /// <see cref="CacheDirectoryIsFileException"/> rather than an empty cache.
    /// </summary>
    public bool Exists()
    {
        for (string? path = Directory; path is not null; path = System.IO.Path.GetDirectoryName(path))
        {
            if (System.IO.Directory.Exists(path)) return path == Directory;
            if (File.Exists(path)) throw new CacheDirectoryIsFileException(Directory, path);
        }
        return false;
    }

    private string EntryDirectory(string key) => System.IO.Path.Combine(Directory, EntryName(key));

    private static string EntryName(string key) =>
        CacheKey.IsWellFormed(key) ? key : throw new ArgumentException($"'{key}' is not a cache key (keys are {CacheKey.Length} lowercase hex digits).", nameof(key));
}
