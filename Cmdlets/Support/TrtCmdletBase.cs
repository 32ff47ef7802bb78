using System.Management.Automation;
using Microsoft.PowerShell.Commands;
using TrtEngine.Core.Cache;
using TrtEngine.Native.Refit;

namespace TrtEngine.Cmdlets.Support;

/// <summary>What every TrtEngine cmdlet needs: provider paths, the cache store, and a cancellation token for Ctrl+C.</summary>
public abstract class TrtCmdletBase : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    protected CancellationToken Cancellation => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>Resolves one existing file (see <see cref="ResolveFiles"/>): a pattern must match exactly one.</summary>
    protected string ResolveFile(string path, bool literal, string notFoundId)
    {
        var files = ResolveFiles(path, literal, notFoundId);
        return files.Count == 1 ? files[0] : throw new AmbiguousPathException(path, files, "files");
    }

    /// <summary>
    /// The existing files a path names: wildcards expand (folders among the matches are left out) unless literal;
    /// relative paths and ~ work. A pattern that matches nothing but names an existing file as written
    /// (ckpt[3].safetensors) is that file: the parameters without a -LiteralPath twin (-WeightsPath, .npy inputs)
    /// would otherwise not reach it at all.
    /// </summary>
    protected IReadOnlyList<string> ResolveFiles(string path, bool literal, string notFoundId)
    {
        IReadOnlyList<string> files;
        if (literal) files = [FileSystemPath(path)];
        else
        {
            var matches = Matches(path);
            files = matches.Where(p => !Directory.Exists(p)).ToList();
            if (files.Count == 0)
            {
                string asWritten = FileSystemPath(path);
                if (File.Exists(asWritten)) return [asWritten];
                throw new PathNotFoundException(notFoundId, Directory.Exists(asWritten) ? $"'{asWritten}' is a folder; give a file."
                    : matches.Count > 0 ? $"'{path}' matches only folders ({string.Join(", ", matches.Take(3))}); give a file."
                    : $"Cannot find '{path}'. Check the path{RelativeTo(path)}.", path);
            }
        }
        foreach (string file in files)
            if (!File.Exists(file))
                throw new PathNotFoundException(notFoundId, Directory.Exists(file) ? $"'{file}' is a folder; give a file." : $"Cannot find the file '{file}'.", path);
        return files;
    }

    /// <summary>
    /// A path to write to, resolved but not required to exist. Unless <paramref name="literal"/> it may hold wildcards,
    /// as Out-File takes one: a pattern must match exactly one existing item, which is the target; one that matches
    /// nothing is refused, not written as a file named '*.engine' that only -LiteralPath could remove.
    /// </summary>
    /// <param name="newName">What to do to write to a new item named with those characters.</param>
    protected string ResolveOutputPath(string path, bool literal = true, string newName = "To name a new file so, give it with -LiteralPath.")
    {
        if (literal || !WildcardPattern.ContainsWildcardCharacters(path)) return FileSystemPath(path);
        var matches = Matches(path);
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new ArgumentException($"'{path}' holds wildcard characters (* ? [ ]) and matches nothing to write to. {newName}"),
            _ => throw new AmbiguousPathException(path, matches, "items"),
        };
    }

    /// <summary>What a path with wildcards matches in the file system (nothing: empty); another provider's path is refused.</summary>
    private IReadOnlyList<string> Matches(string path)
    {
        try
        {
            var matches = GetResolvedProviderPathFromPSPath(path, out var provider);
            return provider.ImplementingType == typeof(FileSystemProvider) ? matches : throw new NotFileSystemPathException(path, provider);
        }
        catch (ItemNotFoundException)
        {
            return [];
        }
    }

    /// <summary>
    /// A path resolved to the file system path it names, not required to exist. A path on another provider is refused:
    /// its provider path (TRTENGINE_CACHE_DIR for env:TRTENGINE_CACHE_DIR) would be read as relative to the process's
    /// directory, which is not PowerShell's location.
    /// </summary>
    private string FileSystemPath(string path)
    {
        string resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
        return provider.ImplementingType == typeof(FileSystemProvider) ? resolved : throw new NotFileSystemPathException(path, provider);
    }

    /// <summary>
    /// The cache in <paramref name="directory"/> (the configured one when null). One that cannot be used at all (a file
    /// in its place, a damaged settings file naming it) stops the command with that error: no item could proceed. One
    /// that does not exist is an empty cache (nothing was built there yet), and is not created; a directory given that
    /// does not exist is warned about, as it may be a mistyped path.
    /// </summary>
    protected DiskEngineStore OpenCache(string? directory) => OpenCache(directory, warnMissing: directory is not null);

    /// <summary>The cache an entry piped in came from: one that is gone since leaves each of its entries to be reported as gone.</summary>
    protected DiskEngineStore OpenCache(TrtCacheEntry entry) => OpenCache(entry.CacheDirectory, warnMissing: false);

    private DiskEngineStore OpenCache(string? directory, bool warnMissing)
    {
        string? path = null;
        try
        {
            path = directory is null ? DiskEngineStore.DefaultDirectory : FileSystemPath(directory);
            var store = new DiskEngineStore(path, log: WriteVerbose);
            if (!store.Exists() && warnMissing)
                WriteWarning($"Cache directory '{path}' does not exist, so it holds no entries (a cache is made where New-TrtEngine first builds). " +
                             $"Check the path if you expected some{RelativeTo(directory ?? path)}.");
            return store;
        }
        catch (Exception e) when (e is CacheDirectoryIsFileException or InvalidDataException or NotFileSystemPathException)
        {
            ThrowTerminatingError(ErrorRecords.From(e, path ?? directory));
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <summary>The entries whose keys match the patterns (wildcards, any case); a plain key that matches nothing is a CacheEntryNotFound error.</summary>
    protected List<TrtCacheEntry> MatchKeys(DiskEngineStore store, IReadOnlyList<TrtCacheEntry> entries, IEnumerable<string> keys)
    {
        var matched = new List<TrtCacheEntry>();
        foreach (string key in keys)
        {
            var pattern = new WildcardPattern(key, WildcardOptions.IgnoreCase);
            var matches = entries.Where(e => pattern.IsMatch(e.Key)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(key))
                WriteError(ErrorRecords.NotFound("CacheEntryNotFound", $"No cache entry with key '{key}' in {store.Directory}.", key));
            // A pattern that no key could match (an object's description bound as text) is a mistake, not an empty match.
            else if (matches.Count == 0 && key.Any(c => !char.IsAsciiHexDigit(c) && !"*?[]-!`".Contains(c)))
                WriteError(ErrorRecords.NotFound("CacheEntryNotFound", $"'{key}' is not a cache key or a pattern of one: keys are {CacheKey.Length} hex digits (Get-TrtCache lists them).", key));
            matched.AddRange(matches.Except(matched).ToList());
        }
        return matched;
    }

    /// <summary>
    /// Warns that an ONNX model a refit reads weights from is not the graph the engine was built from: only for a refit
    /// that goes ahead (a refused one says what is wrong itself).
    /// </summary>
    protected void WarnOtherGraph(string file, Core.Engines.TrtEngine engine) =>
        WriteWarning($"'{file}' is not the graph engine '{engine.Name}' was built from (its layers, their parameters or its input dimensions differ), though its weights fit: " +
                     "the engine keeps computing its own graph with these weights. Check the result with Update-TrtEngineWeights -Verify (it runs this model), or build an engine from this model with New-TrtEngine.");

    /// <summary>Warns of -NameMap hashtable keys that named no weight of <paramref name="source"/>, once it has been renamed.</summary>
    private protected void WarnUnusedKeys(WeightNameMap names, string source)
    {
        if (names.UnusedKeys() is { Count: > 0 } unused)
            WriteWarning($"-NameMap names {(unused.Count == 1 ? "a tensor" : $"{unused.Count} tensors")} that {source} does not hold ({RefitCheck.Names(unused)}): " +
                         $"{(unused.Count == 1 ? "that entry renames" : "those entries rename")} nothing. Check the spelling against the source's names.");
    }

    /// <summary>Where a relative path starts from, for a message about a path not found; nothing for a rooted one.</summary>
    private string RelativeTo(string path) =>
        Path.IsPathRooted(path) || path.StartsWith('~') ? "" : $" (relative paths start from {SessionState.Path.CurrentFileSystemLocation})";

    /// <summary>How messages and ShouldProcess name an entry.</summary>
    protected static string Describe(DiskEngineStore store, TrtCacheEntry entry) =>
        $"{entry.Key} {(entry.ModelName.StartsWith('(') ? entry.ModelName : $"({entry.ModelName})")} in {store.Directory}"; // "(unreadable manifest)" has its own

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
