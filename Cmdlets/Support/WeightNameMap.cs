using System.Management.Automation;
using TrtEngine.Core.Refit;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// -NameMap of the cmdlets that refit: renames a weight source's names to the model's, by a hashtable (source name →
/// model name) or a script block that receives a source name as $_ (or its first parameter) and returns the model
/// name; $null, or a name the hashtable maps to $null, leaves the weight out. Made for one record, on the pipeline's thread.
/// </summary>
internal sealed class WeightNameMap(object? map)
{
    private readonly Dictionary<string, string?> _targets = new(StringComparer.Ordinal);
    private readonly int _pipelineThread = Environment.CurrentManagedThreadId;

    /// <param name="source">The weights' source as an error names it.</param>
    public Dictionary<string, T> Rename<T>(IReadOnlyDictionary<string, T> weights, string source) => WeightSources.Renamed(weights, Target, source);

    /// <summary>
    /// The model name -NameMap gives a source name (null: left out); each name is mapped once (a script block runs once
    /// per name). An ONNX model's weights are named to the refit's preparation as the model is parsed, on either of the
    /// engine's threads, where no script can run: there a name a script block has not mapped yet prepares nothing.
    /// </summary>
    public string? Target(string name)
    {
        lock (_targets)
        {
            if (_targets.TryGetValue(name, out string? known)) return known;
            if (map is ScriptBlock && Environment.CurrentManagedThreadId != _pipelineThread) return null;
            return _targets[name] = Map(name);
        }
    }

    /// <summary>
    /// A hashtable's keys that named none of the source names mapped so far (a misspelt name renames nothing, and the
    /// refit may still pass, with -Partial); matched as a PowerShell hashtable matches them, ignoring case. Empty for a script block.
    /// </summary>
    public IReadOnlyList<string> UnusedKeys()
    {
        lock (_targets)
            return map is not System.Collections.IDictionary table || _targets.Count == 0 ? [] // nothing read yet: nothing to tell
                : table.Keys.Cast<object?>().Select(k => k?.ToString() ?? "")
                .Where(k => !_targets.Keys.Any(n => string.Equals(n, k, StringComparison.OrdinalIgnoreCase))).Order(StringComparer.Ordinal).ToList();
    }

    private string? Map(string name) =>
        map switch
        {
            null => name,
            System.Collections.IDictionary map => map.Contains(name) ? MappedName(map[name], name) : name,
            ScriptBlock script => MapByScript(script, name),
            _ => throw new ArgumentException("-NameMap takes a hashtable (source name → model name) or a script block."),
        };

    /// <summary>A hashtable's value for a name: one model name, or $null; anything else (a list, a number) is refused rather than turned into text.</summary>
    private static string? MappedName(object? value, string name) =>
        (value is PSObject ps ? ps.BaseObject : value) switch
        {
            null => null,
            string target => target,
            var other => throw new ArgumentException($"-NameMap maps '{name}' to {(other is System.Collections.IEnumerable ? "a list" : $"the {other.GetType().Name} {other}")}; map each name to one model weight name (a string), or to $null to leave it out."),
        };

    private static string? MapByScript(ScriptBlock script, string name)
    {
        System.Collections.ObjectModel.Collection<PSObject> names;
        try
        {
            // As $_ and as the first argument, so a block written with param($name) works too.
            names = script.InvokeWithContext(null, [new PSVariable("_", name)], name);
        }
        catch (RuntimeException e)
        {
            throw new ArgumentException($"The -NameMap script block failed on '{name}': {e.Message}", e);
        }
        return names.Count <= 1 ? names.FirstOrDefault()?.BaseObject?.ToString()
            : throw new ArgumentException($"The -NameMap script block returned {names.Count} names for '{name}' ({string.Join(", ", names.Take(4))}); return one, or nothing to leave the weight out.");
    }
}
