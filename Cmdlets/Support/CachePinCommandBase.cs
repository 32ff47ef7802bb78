using System.Management.Automation;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Support;

/// <summary>Lock-TrtCache and Unlock-TrtCache: set the pin of entries piped from Get-TrtCache or named by key (wildcards).</summary>
public abstract class CachePinCommandBase : CacheEntryCmdletBase
{
    [Parameter(ParameterSetName = KeySet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty] // an unset variable's empty string would resolve to the current folder
    public string? CacheDirectory { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>The pin state the command sets.</summary>
    protected abstract bool Pin { get; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var entry in InputObject) Set(OpenCache(entry), entry);
            return;
        }
        var store = OpenCache(CacheDirectory);
        foreach (var entry in MatchKeys(store, store.List(), Key)) Set(store, entry);
    }

    private void Set(DiskEngineStore store, TrtCacheEntry entry)
    {
        if (!ShouldProcess(Describe(store, entry), Pin ? "Pin cache entry" : "Unpin cache entry")) return;
        try
        {
            if (!store.SetPinned(entry.Key, Pin))
            {
                WriteError(ErrorRecords.NotFound("CacheEntryNotFound", $"Cache entry '{entry.Key}' is no longer in {store.Directory}.", entry));
                return;
            }
            // As the entry was listed: pinning a pinned one (or unpinning one that was not) changes nothing, and says so.
            WriteVerbose(entry.Pinned == Pin ? $"{Describe(store, entry)} was {(Pin ? "pinned" : "not pinned")} already." : $"{(Pin ? "Pinned" : "Unpinned")} {Describe(store, entry)}.");
            if (PassThru && store.Find(entry.Key) is { } updated) WriteObject(updated);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(ErrorRecords.From(e, entry));
        }
    }
}
