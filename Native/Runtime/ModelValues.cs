using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace TrtEngine.Native.Runtime;

/// <summary>
/// An engine state's model weight values by model weight index (null where not known), read by name through the
/// plan's index. A refit copies and updates the array by index: a dictionary by name cost a small model's refit a hash
/// per weight and per lookup, more than copying its weights.
/// </summary>
internal sealed class ModelValues : IReadOnlyDictionary<string, float[]>
{
    private readonly IReadOnlyDictionary<string, int> _index;
    private readonly float[]?[] _values;

    /// <param name="index">Model weight index by name (the plan's).</param>
    /// <param name="values">Values by that index; the table takes the array, which must not change afterwards.</param>
    public ModelValues(IReadOnlyDictionary<string, int> index, float[]?[] values)
    {
        _index = index;
        _values = values;
        foreach (var value in values)
            if (value is not null) Count++;
    }

    /// <summary>The values of <paramref name="byName"/> that the index knows, by index.</summary>
    public static ModelValues From(IReadOnlyDictionary<string, int> index, IReadOnlyDictionary<string, float[]> byName)
    {
        var values = new float[]?[index.Count];
        foreach (var (name, value) in byName)
            if (index.TryGetValue(name, out int m)) values[m] = value;
        return new ModelValues(index, values);
    }

    /// <summary>The value of model weight <paramref name="m"/>, or null.</summary>
    public float[]? this[int m] => _values[m];

    /// <summary>A copy of the values by index, for the next state.</summary>
    public float[]?[] ToArray() => _values.AsSpan().ToArray();

    public int Count { get; }

    public float[] this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No value for model weight '{key}'.");

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out float[] value)
    {
        value = _index.TryGetValue(key, out int m) ? _values[m] : null;
        return value is not null;
    }

    public IEnumerable<string> Keys => this.Select(e => e.Key);

    public IEnumerable<float[]> Values => this.Select(e => e.Value);

    public IEnumerator<KeyValuePair<string, float[]>> GetEnumerator()
    {
        foreach (var (name, m) in _index)
            if (_values[m] is { } value) yield return new(name, value);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
