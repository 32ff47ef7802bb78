using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// Tab completion of cache keys: directory names only (no manifest reads), so it stays instant. A relative
/// -CacheDirectory is the session's, as the cmdlet will read it.
/// </summary>
public sealed class CacheKeyCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string directory;
        try
        {
            directory = fakeBoundParameters["CacheDirectory"] is { } given
                ? CompletionSession.FullPath(given is PSObject ps ? ps.BaseObject.ToString()! : given.ToString()!)
                : DiskEngineStore.DefaultDirectory;
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
