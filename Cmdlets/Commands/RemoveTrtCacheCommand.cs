using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>
/// Removes cache entries: piped from Get-TrtCache (each from the cache it came from), by key with wildcards, or by
/// last access or size (Clear-TrtCache empties a cache). Pinned entries need -Force: removals by age or size skip
/// them (saying so in -Verbose), and naming one explicitly is a CacheEntryPinned error.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "TrtCache", SupportsShouldProcess = true, DefaultParameterSetName = KeySet)]
[OutputType(typeof(void))]
public sealed class RemoveTrtCacheCommand : CacheEntryCmdletBase
{
    private const string FilterSet = "Filter";

    /// <summary>Removes the entries last used before this time.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public DateTime? LastAccessedBefore { get; set; }

    /// <summary>Removes the entries taking more than this many bytes on disk.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [ValidateRange(0, long.MaxValue)]
    public long? LargerThan { get; set; }

    [Parameter(ParameterSetName = KeySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = FilterSet)]
    [ValidateNotNullOrEmpty] // an unset variable's empty string would resolve to the current folder
    public string? CacheDirectory { get; set; }

    /// <summary>Remove pinned entries too.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var entry in InputObject) Remove(OpenCache(entry), entry, named: true);
            return;
        }
        var store = OpenCache(CacheDirectory);
        var entries = store.List();
        if (ParameterSetName == FilterSet)
        {
            if (LastAccessedBefore is null && LargerThan is null)
            {
                WriteError(new ErrorRecord(new ArgumentException("Give -LastAccessedBefore, -LargerThan or both (or use Clear-TrtCache to empty the cache)."),
                                           "NoFilter", ErrorCategory.InvalidArgument, store.Directory));
                return;
            }
            // Compared as instants: DateTime's < ignores the kind, so a UTC time ([datetime]::UtcNow, a parsed
            // timestamp) against the local LastAccessed would be off by the UTC offset. Unspecified counts as local.
            DateTime? before = LastAccessedBefore?.ToUniversalTime();
            foreach (var entry in entries.Where(e => (before is null || e.LastAccessed.ToUniversalTime() < before) && (LargerThan is null || e.SizeBytes > LargerThan)))
                Remove(store, entry, named: false);
            return;
        }
        foreach (var entry in MatchKeys(store, entries, Key)) Remove(store, entry, named: true);
    }

    /// <param name="named">The user named this entry (piped it or gave its key): a pin is an error rather than a silent skip.</param>
    private void Remove(DiskEngineStore store, TrtCacheEntry entry, bool named)
    {
        // The piped object is a snapshot: ask the store whether the entry is pinned now.
        if (!Force && (store.Find(entry.Key)?.Pinned ?? entry.Pinned))
        {
            ReportPinned(store, entry, named);
            return;
        }
        if (!ShouldProcess(Describe(store, entry), "Remove cache entry")) return;
        try
        {
            switch (store.Remove(entry.Key, includePinned: Force))
            {
                case CacheRemoval.NotFound:
                    WriteError(ErrorRecords.NotFound("CacheEntryNotFound", $"Cache entry '{entry.Key}' is no longer in {store.Directory}.", entry));
                    break;
                case CacheRemoval.Pinned: // pinned by someone else since it was listed
                    ReportPinned(store, entry, named);
                    break;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            WriteError(ErrorRecords.From(e, entry));
        }
    }

    private void ReportPinned(DiskEngineStore store, TrtCacheEntry entry, bool named)
    {
        if (named)
            WriteError(new ErrorRecord(new InvalidOperationException($"Cache entry {Describe(store, entry)} is pinned. Unpin it with Unlock-TrtCache, or remove it anyway with -Force."),
                "CacheEntryPinned", ErrorCategory.InvalidOperation, entry));
        else WriteVerbose($"Kept pinned entry {Describe(store, entry)} (-Force removes pinned entries too).");
    }
}
