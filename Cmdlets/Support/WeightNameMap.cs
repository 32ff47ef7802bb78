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
    /// refit may still pass, with -Partial): a key is used when the table finds a name under it, as the renaming looks
    /// names up (ignoring case in PowerShell's @{}, not in a case-sensitive dictionary; a key that is not text finds no
    /// name). Empty for a script block, and before any name was mapped.
    /// </summary>
    public IReadOnlyList<string> UnusedKeys()
    {
        lock (_targets)
        {
            if (map is not System.Collections.IDictionary table || _targets.Count == 0) return [];
            var found = _targets.Keys.Where(table.Contains).ToHashSet(StringComparer.Ordinal);
            var keys = table.Keys.OfType<string>().ToHashSet(StringComparer.Ordinal);
            bool ignoresCase = IgnoresCase(table, keys);
            bool Used(string key) => found.Contains(key) || ignoresCase && found.Any(n => string.Equals(n, key, StringComparison.OrdinalIgnoreCase));
            return table.Keys.Cast<object?>().Where(k => k is not string key || !Used(key))
                .Select(k => k is string ? (string)k : $"{k} (a {k?.GetType().Name ?? "null"}: quote it)").Order(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Whether the table finds its keys in any case (PowerShell's @{}): one is found under another case that is no key of its own.</summary>
    private static bool IgnoresCase(System.Collections.IDictionary table, HashSet<string> keys) =>
        keys.Select(k => k.ToUpperInvariant() is var upper && upper != k ? upper : k.ToLowerInvariant()).Any(other => !keys.Contains(other) && table.Contains(other));

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
            "" => throw new ArgumentException($"-NameMap maps '{name}' to an empty name; map it to a model weight name, or to $null to leave it out."),
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
        return names.Count > 1 ? throw new ArgumentException($"The -NameMap script block returned {names.Count} names for '{name}' ({string.Join(", ", names.Take(4))}); return one, or nothing to leave the weight out.")
            : names.FirstOrDefault()?.BaseObject?.ToString() is not "" and var target ? target
            : throw new ArgumentException($"The -NameMap script block returned an empty name for '{name}'; return a model weight name, or nothing to leave the weight out.");
    }
}
