using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>
/// Empties a cache: every entry (pinned ones only with -Force) in one confirmed step. High impact, so it asks unless
/// told -Confirm:$false; Remove-TrtCache, which a pipeline feeds entry by entry, does not ask.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "TrtCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class ClearTrtCacheCommand : TrtCmdletBase
{
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? CacheDirectory { get; set; }

    /// <summary>Remove pinned entries too.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var store = OpenCache(CacheDirectory);
        var entries = store.List();
        // Folders holding files the cache did not write are never removed: left out of the count, and named.
        var foreignFiles = entries.ToDictionary(e => e, store.ForeignFiles);
        var foreign = entries.Where(e => foreignFiles[e].Count > 0).ToList();
        var removed = entries.Except(foreign).Where(e => Force || !e.Pinned).ToList();
        int pinned = entries.Count - foreign.Count - removed.Count;
        string action = $"Remove {(removed.Count == 1 ? "the 1 cache entry" : $"all {removed.Count} cache entries")} ({ByteSize.Format(removed.Sum(e => e.SizeBytes))})" +
                        (pinned > 0 ? $", keeping {pinned} pinned (-Force removes them too)" : "") +
                        (foreign.Count > 0 ? $", leaving {foreign.Count} folder(s) holding files the cache did not write" : "");
        // Nothing to remove is not worth a High-impact question.
        if (entries.Count == 0)
        {
            WriteVerbose($"The cache in {store.Directory} holds no entries; nothing to remove.");
            return;
        }
        if (!ShouldProcess(store.Directory, action)) return;
        foreach (var entry in foreign)
            WriteVerbose($"Left {entry.Path} alone: it holds files the cache did not write ({string.Join(", ", foreignFiles[entry].Take(5))}); remove it by hand if it should go.");
        foreach (var entry in removed)
        {
            try
            {
                // An entry pinned or removed by another process since the listing is left to it.
                if (store.Remove(entry.Key, includePinned: Force) == CacheRemoval.Pinned)
                    WriteVerbose($"Kept pinned entry {Describe(store, entry)}: pinned since the cache was listed.");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                WriteError(ErrorRecords.From(e, entry));
            }
        }
        foreach (var entry in entries.Except(removed).Except(foreign)) WriteVerbose($"Kept pinned entry {Describe(store, entry)} (-Force removes pinned entries too).");
    }
}
