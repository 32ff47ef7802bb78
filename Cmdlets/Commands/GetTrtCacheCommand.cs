using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Lists the entries of an engine cache, most recently used first, or with -Summary its totals.</summary>
[Cmdlet(VerbsCommon.Get, "TrtCache", DefaultParameterSetName = EntriesSet)]
[OutputType(typeof(TrtCacheEntry), ParameterSetName = [EntriesSet])]
[OutputType(typeof(TrtCacheSummary), ParameterSetName = [SummarySet])]
public sealed class GetTrtCacheCommand : TrtCmdletBase
{
    private const string EntriesSet = "Entries", SummarySet = "Summary";

    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = EntriesSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CacheKeyCompleter))]
    [CacheKeyTransformation]
    public string[]? Key { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty] // an unset variable's empty string would resolve to the current folder
    public string? CacheDirectory { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = SummarySet)]
    public SwitchParameter Summary { get; set; }

    protected override void ProcessRecord()
    {
        var store = OpenCache(CacheDirectory);
        if (Summary)
        {
            try
            {
                WriteObject(store.Summary());
            }
            catch (InvalidDataException e) // the size limit it reports comes from a damaged settings file
            {
                ThrowTerminatingError(ErrorRecords.From(e, CacheOptions.SettingsPath));
            }
            return;
        }
        var entries = store.List();
        foreach (var entry in (Key is null ? entries : MatchKeys(store, entries, Key)).OrderByDescending(e => e.LastAccessed))
            WriteObject(entry);
    }
}
