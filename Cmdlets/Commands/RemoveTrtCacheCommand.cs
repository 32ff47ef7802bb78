using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>
/// Removes cache entries: piped from Get-TrtCache (each from the cache it came from), by key with wildcards, by last
/// access or size, or all of them.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "TrtCache", SupportsShouldProcess = true, DefaultParameterSetName = KeySet)]
[OutputType(typeof(void))]
public sealed class RemoveTrtCacheCommand : TrtCmdletBase
{
    private const string KeySet = "Key", InputObjectSet = "InputObject", FilterSet = "Filter", AllSet = "All";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    public TrtCacheEntry[] InputObject { get; set; } = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = KeySet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CacheKeyCompleter))]
    public string[] Key { get; set; } = [];

    /// <summary>Removes the entries last used before this time.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public DateTime? LastAccessedBefore { get; set; }

    /// <summary>Removes the entries taking more than this many bytes on disk.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [ValidateRange(0, long.MaxValue)]
    public long? LargerThan { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    [Parameter(ParameterSetName = KeySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = FilterSet)]
    [Parameter(ParameterSetName = AllSet)]
    public string? CacheDirectory { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var entry in InputObject) Remove(OpenCache(entry.CacheDirectory), entry);
            return;
        }
        var store = OpenCache(CacheDirectory);
        var entries = store.List();
        if (ParameterSetName is FilterSet or AllSet)
        {
            if (ParameterSetName == FilterSet && LastAccessedBefore is null && LargerThan is null)
                throw new PSArgumentException("Give -LastAccessedBefore, -LargerThan or both (or -All to empty the cache).");
            foreach (var entry in entries.Where(e => All || ((LastAccessedBefore is null || e.LastAccessed < LastAccessedBefore) && (LargerThan is null || e.SizeBytes > LargerThan))))
                Remove(store, entry);
            return;
        }
        foreach (string key in Key)
        {
            var pattern = new WildcardPattern(key, WildcardOptions.IgnoreCase);
            var matches = entries.Where(e => pattern.IsMatch(e.Key)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(key))
                WriteError(ErrorRecords.NotFound("CacheEntryNotFound", $"No cache entry with key '{key}' in {store.Directory}.", key));
            foreach (var entry in matches) Remove(store, entry);
        }
    }

    private void Remove(DiskEngineStore store, TrtCacheEntry entry)
    {
        if (!ShouldProcess($"{entry.Key} ({entry.ModelName}) in {store.Directory}", "Remove cache entry")) return;
        try
        {
            if (!store.Remove(entry.Key))
                WriteError(ErrorRecords.NotFound("CacheEntryNotFound", $"Cache entry '{entry.Key}' is no longer in {store.Directory}.", entry));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            WriteError(ErrorRecords.From(e, entry));
        }
    }
}
