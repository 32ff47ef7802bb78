using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Management.Automation;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Tensors;

namespace TrtEngine.Cmdlets.Support;

/// <summary>Turns what users type (hashtables of arrays, nested arrays, PSObjects) into the flat arrays Core takes.</summary>
internal static class InputConversion
{
    /// <summary>
    /// Weights by name: numbers with the shape they came in where they have one (a TrtTensor or .npy file as for
    /// <see cref="ToEngineInputs"/>, a multi-dimensional array, nested arrays, which must be rectangular), else null (a
    /// flat array or a single number).
    /// </summary>
    public static Dictionary<string, (float[] Data, int[]? Shape)> ToShapedArrays(IDictionary table, string parameter, Func<string, string> resolvePath) =>
        ToDictionary(table, parameter, v => TensorOf(v, resolvePath) is { } tensor
            ? (tensor.Data ?? throw new ArgumentException("the tensor has no data."), tensor.Shape ?? throw new ArgumentException("the tensor has no shape."))
            : (Flatten(v), ShapeOf(v)));

    /// <summary>
    /// A TrtTensor, one back from Import-Clixml, Receive-Job or ConvertFrom-Json, or one read from a .npy file (a
    /// FileInfo or a path string ending in .npy); null for numbers.
    /// </summary>
    private static TrtTensor? TensorOf(object? value, Func<string, string> resolvePath) => Unwrap(value) switch
    {
        TrtTensor t => t,
        // What deserializing makes of a tensor: its properties in a PSObject with no TrtTensor behind them.
        PSCustomObject when value is PSObject properties => FromProperties(properties),
        IDictionary table => FromProperties(table),
        FileInfo file => NpyFile.Read(file.FullName),
        string path when path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) => NpyFile.Read(resolvePath(path)),
        _ => null,
    };

    /// <summary>
    /// A tensor from its Shape and Data properties (lists of numbers once deserialized); other property bags are refused,
    /// as they are not numbers either.
    /// </summary>
    internal static TrtTensor FromProperties(PSObject properties) =>
        FromProperties(name => properties.Properties[name]?.Value, $"its properties: {string.Join(", ", properties.Properties.Select(p => p.Name))}");

    /// <summary>The same from a dictionary's Shape and Data keys, in any case (ConvertFrom-Json -AsHashtable's "shape" and "data").</summary>
    internal static TrtTensor FromProperties(IDictionary table)
    {
        var keys = table.Keys.Cast<object>().Select(k => k.ToString() ?? "").ToList();
        return FromProperties(name => keys.FirstOrDefault(k => k.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } key ? table[key] : null,
                              $"a hashtable of {string.Join(", ", keys)}");
    }

    /// <param name="what">What the value holds, for the refusal of one that is not a tensor.</param>
    private static TrtTensor FromProperties(Func<string, object?> property, string what)
    {
        object Member(string name) => property(name) ?? throw new ArgumentException(
            $"not a tensor: it has no {name} ({what}). " +
            "Give a tensor with Shape and Data (as Invoke-TrtEngine and Import-TrtTensor write them, also back from Import-Clixml, " +
            "Receive-Job or ConvertFrom-Json), an array of numbers or a .npy file.");
        return new TrtTensor
        {
            Name = property("Name")?.ToString() ?? "",
            Shape = LanguagePrimitives.ConvertTo<int[]>(Unwrap(Member("Shape"))),
            // What Export-TrtTensor writes the values as (an int64 output stays int64); inputs take it from the engine.
            DataType = property("DataType")?.ToString() ?? "Float32",
            Data = Flatten(Member("Data")),
        };
    }

    /// <summary>The dimensions of a multi-dimensional array or of nested arrays; null for a flat array or a number.</summary>
    private static int[]? ShapeOf(object? value)
    {
        value = Unwrap(value);
        if (value is Array { Rank: > 1 } block) return [.. Enumerable.Range(0, block.Rank).Select(block.GetLength)];
        // A float[] of a million values is flat without boxing each one to look.
        if (value is Array { Rank: 1 } vector && vector.GetType().GetElementType()!.IsPrimitive) return null;
        if (value is not IEnumerable items || value is string) return null;
        var rows = items.Cast<object?>().Select(Unwrap).ToList();
        if (rows.Count == 0 || rows.All(r => r is not IEnumerable || r is string)) return null;
        if (rows.Any(r => r is not IEnumerable || r is string))
            throw new ArgumentException("numbers and arrays at one level of nesting; give a rectangular array, or a flat one.");
        var inner = rows.Select(r => ShapeOf(r) ?? [((IEnumerable)r!).Cast<object>().Count()]).ToList();
        if (inner.FirstOrDefault(s => !s.SequenceEqual(inner[0])) is { } other)
            throw new ArgumentException($"nested arrays of different shapes ([{string.Join(", ", inner[0])}] and [{string.Join(", ", other)}]); give a rectangular array, or a flat one.");
        return [rows.Count, .. inner[0]];
    }

    /// <summary>
    /// An engine's inputs: each value is numbers (a flat array, or a multi-dimensional or nested one whose shape comes
    /// along), a TrtTensor (its shape comes along; deserialized too), or a .npy
    /// file (a FileInfo or a path string ending in .npy, resolved by <paramref name="resolvePath"/>). Shapes given in
    /// <paramref name="explicitShapes"/> win over the tensors' own.
    /// </summary>
    public static (Dictionary<string, float[]> Data, Dictionary<string, int[]> Shapes) ToEngineInputs(IDictionary table, IDictionary? explicitShapes, Func<string, string> resolvePath)
    {
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var data = ToDictionary(table, "Input", value =>
        {
            // A multi-dimensional or nested array's shape comes along as a tensor's does: one the engine does not take
            // (a transposed matrix) is refused, not read in the wrong order.
            var tensor = TensorOf(value, resolvePath);
            return (tensor?.Data ?? Flatten(value), tensor?.Shape ?? ShapeOf(value));
        });
        foreach (var (name, (_, shape)) in data)
            if (shape is not null) shapes[name] = shape;
        foreach (var (name, shape) in ToShapes(explicitShapes, "InputShape") ?? []) shapes[name] = shape;
        return (data.ToDictionary(d => d.Key, d => d.Value.Item1, StringComparer.Ordinal), shapes);
    }

    public static Dictionary<string, int[]>? ToShapes(IDictionary? table, string parameter) =>
        table is null ? null : ToDictionary(table, parameter, v => LanguagePrimitives.ConvertTo<int[]>(Dimensions(Unwrap(v))));

    /// <summary>
    /// A shape's dimensions as given, before PowerShell converts them: null and text are refused (PowerShell reads the
    /// text '8,64' as the number 864, which a rank-1 input would take without a word).
    /// </summary>
    private static object Dimensions(object? value)
    {
        string? problem = value switch
        {
            null => "the shape is null",
            string text => $"the shape '{text}' is text",
            IEnumerable items when items.Cast<object?>().Any(d => Unwrap(d) is null or string) => "a dimension is null or text",
            // PowerShell would round 2.5 to 2 (and 2.7 to 3) without a word.
            IEnumerable items when items.Cast<object?>().Select(Unwrap).FirstOrDefault(IsFraction) is { } fraction => $"the dimension {fraction} is not a whole number",
            var single when IsFraction(Unwrap(single)) => $"the dimension {Unwrap(single)} is not a whole number",
            _ => null,
        };
        return problem is null ? value! : throw new ArgumentException($"{problem}; give the dimensions as numbers, such as 1, 64 (not in quotes).");
    }

    private static bool IsFraction(object? value) => value switch
    {
        double d => d != Math.Floor(d),
        float f => f != MathF.Floor(f),
        decimal m => m != decimal.Floor(m),
        _ => false,
    };

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
            catch (Exception e) when (e is PSInvalidCastException or ArgumentException)
            {
                throw new ArgumentException($"-{parameter} '{name}': {e.Message}", e);
            }
        }
        return result;
    }

    /// <summary>Numbers in any nesting of arrays, row-major; a single number is a one-element array.</summary>
    public static float[] Flatten(object? value)
    {
        value = Unwrap(value);
        switch (value)
        {
            case float[] floats: return floats;
            case double[] doubles: return Array.ConvertAll(doubles, Narrow);
            case null: throw new ArgumentException("the value is null; give an array of numbers.");
            case string: return [ToSingle(value)];
            case IDictionary: throw new ArgumentException($"a dictionary ({value.GetType().Name}) is not numbers; {WhatToGive}");
            case IEnumerable items:
                var list = new List<float>();
                Append(items, list);
                return [.. list];
            default: return [ToSingle(value)];
        }
    }

    /// <summary>The numbers of nested arrays in row-major order; a null is named by its place in that order.</summary>
    private static void Append(IEnumerable items, List<float> list)
    {
        foreach (object? item in items)
        {
            object? inner = Unwrap(item);
            if (inner is IEnumerable nested and not string) Append(nested, list);
            else list.Add(inner is null ? throw new ArgumentException($"element {list.Count} is null.") : ToSingle(inner));
        }
    }

    /// <summary>
    /// A number as float32: a double (or a fraction: a [decimal], a string such as '0.1') rounded to the nearest, an
    /// integer (of any type: [decimal], [bigint] and strings such as '16777217' too) only where float32 holds it exactly.
    /// </summary>
    private static float ToSingle(object value) => value switch
    {
        double d => Narrow(d),
        int i => Exact(i),
        uint u => Exact(u),
        long l => Exact(l),
        ulong big => ExactFloat32.Holds(big) ? big : throw Inexact(big),
        decimal m => m == decimal.Truncate(m) ? Integer(m.ToString(CultureInfo.InvariantCulture)) : Narrow((double)m),
        BigInteger b => Integer(b.ToString(CultureInfo.InvariantCulture)),
        string s when BigInteger.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) => Integer(s.Trim()),
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => Narrow(d),
        string s => throw new ArgumentException($"'{s}' is neither a number nor the path of a .npy file; {WhatToGive}"),
        _ => Converted(value),
    };

    /// <summary>What an input or weight value can be, for the errors that refuse one.</summary>
    private const string WhatToGive = "give numbers (an array, nested arrays or a multi-dimensional array), a tensor (as Invoke-TrtEngine and Import-TrtTensor write them) or a .npy file.";

    /// <summary>Another numeric type (a byte, a [Half]) as PowerShell converts it; anything else is refused as not a number.</summary>
    private static float Converted(object value)
    {
        try
        {
            return LanguagePrimitives.ConvertTo<float>(value);
        }
        catch (PSInvalidCastException)
        {
            throw new ArgumentException($"a {value.GetType().Name} ({value}) is not a number; {WhatToGive}");
        }
    }

    /// <summary>An integer written out (it may exceed every machine type): float32 must hold it exactly.</summary>
    private static float Integer(string digits) =>
        long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) ? Exact(l) : throw Inexact(digits);

    private static float Exact(long value) => ExactFloat32.Holds(value) ? value : throw Inexact(value);

    /// <summary>Rounding an integer would change the input unseen (16777217 runs as 16777216), so it is refused.</summary>
    private static ArgumentException Inexact(object value) =>
        new($"{value} is an integer float32 cannot hold exactly (it holds every integer up to 2^24 = 16777216, beyond that only some); give integers within ±16777216, or the value as a [double] to have it rounded.");

    /// <summary>A double as float32, refusing a finite one float32 cannot hold (it would become an infinity, reported later as "not finite").</summary>
    private static float Narrow(double value) =>
        ExactFloat32.Holds(value, out float single) ? single
            : throw new ArgumentException($"{value.ToString(CultureInfo.InvariantCulture)} is beyond float32's range (±3.4E+38).");

    private static object? Unwrap(object? value) => value is PSObject ps ? ps.BaseObject : value;
}
