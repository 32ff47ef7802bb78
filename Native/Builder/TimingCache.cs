using System.Collections.Concurrent;
using System.Globalization;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Chosen tactics by layer signature (operation, shapes, instruction set, threads), so a rebuild with the same
/// layers skips timing. Saved as text lines "signature \t tactic \t microseconds \t day last used", at most
/// <see cref="MaxEntries"/> of them: the least recently used go first.
/// </summary>
public sealed class TimingCache
{
    /// <summary>
    /// Lines the file keeps (about 2.5 MB): every build that times a new layer reads and rewrites the whole file, and a
    /// file that grew with every configuration ever built cost builds 0.4 s at 100,000 lines.
    /// </summary>
    public const int MaxEntries = 20_000;

    private readonly ConcurrentDictionary<string, (string Tactic, double Microseconds, int LastUsed)> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    /// <summary>Days since 1970 (UTC): when an entry was last set or found.</summary>
    private static int Today => (int)(DateTime.UtcNow - DateTime.UnixEpoch).TotalDays;

    public bool TryGet(string signature, out string tactic, out double microseconds)
    {
        bool found = _entries.TryGetValue(signature, out var entry);
        (tactic, microseconds, _) = entry;
        if (found && entry.LastUsed != Today) _entries.TryUpdate(signature, entry with { LastUsed = Today }, entry);
        return found;
    }

    public void Set(string signature, string tactic, double microseconds) => _entries[signature] = (tactic, microseconds, Today);

    /// <summary>Loads a saved cache; unreadable lines are skipped (a timing cache only saves time, it is never needed).</summary>
    public static TimingCache Load(string path)
    {
        var cache = new TimingCache();
        if (!File.Exists(path)) return cache;
        foreach (string line in File.ReadLines(path))
        {
            string[] parts = line.Split('\t');
            // A line without its day (written before days were kept) counts as the oldest.
            int lastUsed = 0;
            if (parts.Length is 3 or 4 && double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double us) &&
                (parts.Length == 3 || int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out lastUsed)))
                cache._entries[parts[0]] = (parts[1], us, lastUsed);
        }
        return cache;
    }

    /// <summary>
    /// Writes atomically (temporary file, then rename) so concurrent builders never read half a file, after merging
    /// what another builder saved meanwhile (its entries win only where this cache has none; the later day counts).
    /// The merge and the rename hold a lock file beside it: two builders saving at once would each merge the file as
    /// it was, and the later rename would drop the other's timings.
    /// </summary>
    public void Save(string path)
    {
        using var held = Lock(path + ".lock");
        foreach (var (signature, saved) in Load(path)._entries)
            _entries.AddOrUpdate(signature, saved, (_, mine) => mine with { LastUsed = Math.Max(mine.LastUsed, saved.LastUsed) });
        var kept = _entries.OrderByDescending(e => e.Value.LastUsed).ThenBy(e => e.Key, StringComparer.Ordinal).Take(MaxEntries);
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        // It sits in the engine cache, whose files are the user's only (0600 on Unix).
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(temp, options))
            foreach (var (signature, entry) in kept.OrderBy(e => e.Key, StringComparer.Ordinal))
                writer.WriteLine(string.Join('\t', signature, entry.Tactic, entry.Microseconds.ToString("R", CultureInfo.InvariantCulture),
                    entry.LastUsed.ToString(CultureInfo.InvariantCulture)));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// An exclusive open of the lock file (an OS lock that dies with its holder), waiting while other builders save;
    /// null after 30 s (a holder that hangs), when the save goes ahead unlocked: timings only save time. A save takes
    /// milliseconds, but a waiter polls among many on a loaded host: 64 builders saving at once on 2 busy cores kept
    /// one waiting more than 5 s (the earlier limit), whose unlocked save then dropped another's timings.
    /// </summary>
    private static FileStream? Lock(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        long start = Environment.TickCount64;
        while (true)
        {
            try
            {
                return new FileStream(path, options);
            }
            catch (IOException) when (Environment.TickCount64 - start < 30_000)
            {
                Thread.Sleep(5);
            }
            catch (IOException)
            {
                return null;
            }
        }
    }
}
