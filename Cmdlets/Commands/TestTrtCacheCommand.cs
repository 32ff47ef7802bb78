using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>
/// Verifies a cache's entries without loading engines and reports each (the whole cache, with its leftovers, or just
/// the entries piped from Get-TrtCache); -Repair removes what is broken.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "TrtCache", SupportsShouldProcess = true, DefaultParameterSetName = DirectorySet)]
[OutputType(typeof(TrtCacheCheck))]
public sealed class TestTrtCacheCommand : CacheEntryCmdletBase
{
    private const string DirectorySet = "Directory";

    // Not positional: a key is, as for Get-TrtCache and Remove-TrtCache (a key given bare bound here checked no cache).
    [Parameter(ParameterSetName = DirectorySet)]
    [Parameter(ParameterSetName = KeySet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty] // an unset variable's empty string would resolve to the current folder
    public string? CacheDirectory { get; set; }

    /// <summary>Remove corrupt and incompatible entries and orphaned temporary directories.</summary>
    [Parameter]
    public SwitchParameter Repair { get; set; }

    /// <summary>Temporary directories younger than this may belong to a write in progress and are left alone.</summary>
    [Parameter(ParameterSetName = DirectorySet)]
    public TimeSpan OrphanAge { get; set; } = TimeSpan.FromMinutes(10);

    protected override void ProcessRecord()
    {
        if (ParameterSetName == DirectorySet)
        {
            var store = OpenCache(CacheDirectory);
            foreach (var check in store.Check(OrphanAge)) Report(store, check);
            return;
        }
        if (ParameterSetName == KeySet)
        {
            var keyed = OpenCache(CacheDirectory);
            foreach (var entry in MatchKeys(keyed, keyed.List(), Key)) Report(keyed, entry, keyed.Check(entry));
            return;
        }
        foreach (var entry in InputObject)
        {
            var store = OpenCache(entry);
            Report(store, entry, store.Find(entry.Key) is { } current ? store.Check(current) : null);
        }
    }

    /// <summary>Reports the check of an entry asked for by key or piped in; null when it is gone (removed since).</summary>
    private void Report(DiskEngineStore store, TrtCacheEntry entry, TrtCacheCheck? check)
    {
        if (check is not null) Report(store, check);
        else WriteError(ErrorRecords.NotFound("CacheEntryNotFound", $"Cache entry '{entry.Key}' is no longer in {store.Directory}.", entry));
    }

    private void Report(DiskEngineStore store, TrtCacheCheck check)
    {
        if (Repair && check.Status == "Foreign")
            WriteVerbose($"Left {check.Path} alone: it {check.Problem}.");
        else if (Repair && !check.IsHealthy && ShouldProcess(check.Path, $"Remove {check.Status.ToLowerInvariant()} item ({check.Problem})"))
        {
            try
            {
                store.Repair(check);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                WriteError(ErrorRecords.From(e, check));
            }
        }
        WriteObject(check);
    }
}
