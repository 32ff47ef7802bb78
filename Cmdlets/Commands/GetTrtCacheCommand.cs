using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Lists the entries of an engine cache, most recently used first.</summary>
[Cmdlet(VerbsCommon.Get, "TrtCache")]
[OutputType(typeof(TrtCacheEntry))]
public sealed class GetTrtCacheCommand : TrtCmdletBase
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Key { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? CacheDirectory { get; set; }

    protected override void ProcessRecord()
    {
        var store = OpenCache(CacheDirectory);
        var entries = store.List();
        var patterns = (Key ?? ["*"]).Select(k => new WildcardPattern(k, WildcardOptions.IgnoreCase)).ToArray();
        foreach (var entry in entries.Where(e => patterns.Any(p => p.IsMatch(e.Key))).OrderByDescending(e => e.LastAccessed))
            WriteObject(entry);
        foreach (string key in Key ?? [])
            if (!WildcardPattern.ContainsWildcardCharacters(key) && !entries.Any(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase)))
                WriteError(ErrorRecords.NotFound("CacheEntryNotFound", $"No cache entry with key '{key}' in {store.Directory}.", key));
    }
}
