using System.Globalization;
using System.Text;

namespace TrtEngine.Core.Tensors;

/// <summary>
/// The header of a .npy file: a Python dict literal with exactly the keys 'descr', 'fortran_order' and 'shape'.
/// Parsed by hand (strings, True/False, tuples of integers), never evaluated.
/// </summary>
internal sealed record NpyHeader(string Descr, bool FortranOrder, long[] Shape)
{
    public static NpyHeader Parse(string text)
    {
        var parser = new Parser(text);
        var header = parser.Dict();
        parser.End();
        string[] expected = ["descr", "fortran_order", "shape"];
        if (header.Count != expected.Length || expected.Any(k => !header.ContainsKey(k)))
            throw new NpyFormatException($"the header has the keys {string.Join(", ", header.Keys)}; a .npy header has exactly descr, fortran_order and shape.");
        return new NpyHeader(
            header["descr"] as string ?? throw new NpyFormatException("the header's descr is not a type string such as '<f4'."),
            header["fortran_order"] as bool? ?? throw new NpyFormatException("the header's fortran_order is not True or False."),
            header["shape"] as long[] ?? throw new NpyFormatException("the header's shape is not a tuple of integers."));
    }

    /// <summary>numpy's own layout: <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c>.</summary>
    public string Format()
    {
        string shape = Shape.Length == 1 ? $"({Shape[0]},)" : "(" + string.Join(", ", Shape) + ")";
        return $"{{'descr': '{Descr}', 'fortran_order': {(FortranOrder ? "True" : "False")}, 'shape': {shape}, }}";
    }

    private sealed class Parser(string text)
    {
        private int _at;

        public Dictionary<string, object> Dict()
        {
            Expect('{');
            var dict = new Dictionary<string, object>(StringComparer.Ordinal);
            while (Peek() != '}')
            {
                string key = String();
                Expect(':');
                if (!dict.TryAdd(key, Value())) throw Error($"the key '{key}' appears twice");
                if (Peek() != ',') break;
                _at++;
            }
            Expect('}');
            return dict;
        }

        public void End()
        {
            SkipSpace();
            if (_at != text.Length) throw Error("text follows the closing brace");
        }

        private object Value()
        {
            char c = Peek();
            if (c is '\'' or '"') return String();
            if (c == '(') return Tuple();
            if (c == '[') throw new NpyFormatException("the array has a structured dtype (a list of fields); only plain numeric arrays are supported: save one field per file.");
            if (Word("True")) return true;
            if (Word("False")) return false;
            throw Error($"unexpected '{c}'");
        }

        private long[] Tuple()
        {
            Expect('(');
            var items = new List<long>();
            while (Peek() != ')')
            {
                items.Add(Integer());
                if (Peek() != ',') break;
                _at++;
            }
            Expect(')');
            return [.. items];
        }

        private long Integer()
        {
            SkipSpace();
            int start = _at;
            while (_at < text.Length && char.IsAsciiDigit(text[_at])) _at++;
            if (start == _at) throw Error("expected a non-negative integer in the shape");
            if (!long.TryParse(text.AsSpan(start, _at - start), NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                throw Error("a dimension of the shape is too large");
            if (_at < text.Length && text[_at] == 'L') _at++; // Python 2 wrote long integers as 3L
            return value;
        }

        private string String()
        {
            char quote = Peek();
            if (quote is not ('\'' or '"')) throw Error("expected a quoted string");
            _at++;
            var value = new StringBuilder();
            while (_at < text.Length && text[_at] != quote) value.Append(text[_at++]);
            if (_at == text.Length) throw Error("a string is not closed");
            _at++;
            return value.ToString();
        }

        private bool Word(string word)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _at, word, 0, word.Length) != 0) return false;
            _at += word.Length;
            return true;
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw Error($"expected '{c}'");
            _at++;
        }

        private char Peek()
        {
            SkipSpace();
            return _at < text.Length ? text[_at] : '\0';
        }

        private void SkipSpace()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at])) _at++;
        }

        private NpyFormatException Error(string what) => new($"the header is not a valid .npy header: {what} at character {_at}.");
    }
}
