namespace TrtEngine.Core.Weights;

/// <summary>A dict (or OrderedDict) in the order its items were set; keys are strings, numbers or tuples.</summary>
internal sealed class PickleDict
{
    private readonly List<(object? Key, object? Value)> _items = [];

    /// <summary>Where each string key is in <see cref="_items"/>: a state dict has thousands, and a hostile pickle millions.</summary>
    private readonly Dictionary<string, int> _strings = new(StringComparer.Ordinal);

    public int Count => _items.Count;

    public IEnumerable<(object? Key, object? Value)> Items => _items;

    public object? this[string key] => _strings.TryGetValue(key, out int i) ? _items[i].Value : null;

    public void Set(object? key, object? value)
    {
        // A key set twice keeps its place and takes the later value, as a Python dict does.
        if (key is string s && _strings.TryGetValue(s, out int i)) _items[i] = (key, value);
        else
        {
            if (key is string name) _strings[name] = _items.Count;
            _items.Add((key, value));
        }
    }
}
