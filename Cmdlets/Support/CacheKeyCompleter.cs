using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Support;

/// <summary>Tab completion of cache keys: directory names only (no manifest reads, no runspace), so it stays instant.</summary>
public sealed class CacheKeyCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string directory;
        try
        {
            directory = fakeBoundParameters["CacheDirectory"] is { } given ? Path.GetFullPath(given.ToString()!) : DiskEngineStore.DefaultDirectory;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or NotSupportedException)
        {
            return [];
        }
        if (!Directory.Exists(directory)) return [];
        string prefix = wordToComplete.Trim('\'', '"');
        return Directory.EnumerateDirectories(directory)
            .Select(Path.GetFileName)
            .Where(name => name is not null && CacheKey.IsWellFormed(name) && name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(key => new CompletionResult(key!, key!, CompletionResultType.ParameterValue, $"cache entry {key}"))
            .ToList();
    }
}
