using System.Collections;
using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>Turns what users type (hashtables of arrays, nested arrays, PSObjects) into the flat arrays Core takes.</summary>
internal static class InputConversion
{
    public static Dictionary<string, float[]> ToFloatArrays(IDictionary table, string parameter) =>
        ToDictionary(table, parameter, v => Flatten(v, parameter));

    public static Dictionary<string, int[]>? ToShapes(IDictionary? table, string parameter) =>
        table is null ? null : ToDictionary(table, parameter, v => LanguagePrimitives.ConvertTo<int[]>(Unwrap(v)));

    private static Dictionary<string, T> ToDictionary<T>(IDictionary table, string parameter, Func<object?, T> convert)
    {
        var result = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            string name = entry.Key?.ToString() ?? throw new ArgumentException($"-{parameter} has an entry with no name.");
            try
            {
                result[name] = convert(entry.Value);
            }
            catch (PSInvalidCastException e)
            {
                throw new ArgumentException($"-{parameter} '{name}': {e.Message}", e);
            }
        }
        return result;
    }

    /// <summary>Numbers in any nesting of arrays, row-major; a single number is a one-element array.</summary>
    public static float[] Flatten(object? value, string parameter)
    {
        value = Unwrap(value);
        switch (value)
        {
            case float[] floats: return floats;
            case double[] doubles: return Array.ConvertAll(doubles, d => (float)d);
            case null: throw new ArgumentException($"-{parameter}: a value is null; give an array of numbers.");
            case string: return [LanguagePrimitives.ConvertTo<float>(value)];
            case IEnumerable items:
                var list = new List<float>();
                foreach (object? item in items)
                {
                    object? inner = Unwrap(item);
                    if (inner is IEnumerable and not string) list.AddRange(Flatten(inner, parameter));
                    else list.Add(inner is null ? throw new ArgumentException($"-{parameter}: an element is null.") : LanguagePrimitives.ConvertTo<float>(inner));
                }
                return [.. list];
            default: return [LanguagePrimitives.ConvertTo<float>(value)];
        }
    }

    private static object? Unwrap(object? value) => value is PSObject ps ? ps.BaseObject : value;
}
