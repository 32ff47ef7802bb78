using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace TrtEngine.Core.Weights;

/// <summary>
/// Reads the pickle torch.save writes (protocols 2 to 5) into plain data: strings, numbers, lists, tuples
/// (object?[]), <see cref="PickleDict"/>s and, for the classes and functions it names, <see cref="PickleGlobal"/>s and
/// <see cref="PickleObject"/>s. Nothing the pickle names is imported or called: what a call means is up to
/// <c>reduce</c> (a tensor's rebuild, an OrderedDict), and storages come from <c>persistentLoad</c>. So a hostile file
/// can make the reader build only data, and every malformed one fails with a <see cref="WeightFormatException"/>.
/// </summary>
internal sealed class PickleReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private readonly byte[] _data;
    private readonly string _where;
    private readonly Func<object?, object?> _persistentLoad;
    private readonly Func<PickleGlobal, object?[], object?>? _reduce;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private int _position;

    /// <param name="where">Names the pickle in errors (the file and entry).</param>
    /// <param name="reduce">What a call of a class or function means; null keeps it as a <see cref="PickleObject"/>.</param>
    private PickleReader(byte[] data, string where, Func<object?, object?> persistentLoad, Func<PickleGlobal, object?[], object?>? reduce)
    {
        _data = data;
        _where = where;
        _persistentLoad = persistentLoad;
        _reduce = reduce;
    }

    public static object? Read(byte[] data, string where, Func<object?, object?> persistentLoad, Func<PickleGlobal, object?[], object?>? reduce = null) =>
        new PickleReader(data, where, persistentLoad, reduce).Run();

    private object? Run()
    {
        while (true)
        {
            int at = _position;
            byte op = Byte();
            switch (op)
            {
                case 0x80: Byte(); break; // PROTO: any of 2–5 reads the same here
                case 0x95: Bytes(8); break; // FRAME: a length hint only
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Error(at, "the pickle stops with its stack unbalanced");
                    return _stack[0];
                case (byte)'(': _marks.Push(_stack.Count); break;
                case (byte)'0': Pop(at); break;
                case (byte)'1': PopMark(at); break;
                case (byte)'2': Push(Peek(at)); break;
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                case (byte)'K': Push((long)Byte()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                case 0x8a: Push(Long(Byte())); break;
                case 0x8b: Push(Long(Length(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at))); break;
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break;
                case (byte)'X': Push(Text(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at)); break;
                case 0x8c: Push(Text(Byte(), at)); break;
                case 0x8d: Push(Text(BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8)), at)); break;
                case (byte)'T': Push(Latin1(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at)); break; // a Python 2 str
                case (byte)'U': Push(Latin1(Byte(), at)); break;
                case (byte)'B': Push(Bytes(Length(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at)).ToArray()); break;
                case (byte)'C': Push(Bytes(Byte()).ToArray()); break;
                case 0x8e or 0x96: Push(Bytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8)), at)).ToArray()); break;
                case 0x98: break; // READONLY_BUFFER: bytes stay bytes
                case (byte)')': Push(Array.Empty<object?>()); break;
                case 0x85: Push(new[] { Pop(at) }); break;
                case 0x86: { var b = Pop(at); var a = Pop(at); Push(new[] { a, b }); break; }
                case 0x87: { var c = Pop(at); var b = Pop(at); var a = Pop(at); Push(new[] { a, b, c }); break; }
                case (byte)'t': Push(PopMark(at)); break;
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'l': Push(new List<object?>(PopMark(at))); break;
                case 0x8f: Push(new List<object?>()); break; // EMPTY_SET: a set is kept as a list
                case (byte)'a': { var item = Pop(at); ListAt(at).Add(item); break; }
                case (byte)'e' or 0x90: { var items = PopMark(at); ListAt(at).AddRange(items); break; }
                case 0x91: Push(new List<object?>(PopMark(at))); break; // FROZENSET
                case (byte)'}': Push(new PickleDict()); break;
                case (byte)'d': Push(DictOf(PopMark(at), at)); break;
                case (byte)'s': { var value = Pop(at); var key = Pop(at); DictAt(at).Set(key, value); break; }
                case (byte)'u':
                {
                    var items = PopMark(at);
                    if (items.Length % 2 != 0) throw Error(at, "SETITEMS has a key without a value");
                    var dict = DictAt(at);
                    for (int i = 0; i < items.Length; i += 2) dict.Set(items[i], items[i + 1]);
                    break;
                }
                case (byte)'c': Push(new PickleGlobal(Line(at), Line(at))); break;
                case 0x93: { var name = Pop(at); var module = Pop(at); Push(new PickleGlobal(StringOf(module, at), StringOf(name, at))); break; }
                case (byte)'R': { var args = Pop(at); var callable = Pop(at); Push(Call(callable, TupleOf(args, at), at)); break; }
                case 0x81: { var args = Pop(at); var cls = Pop(at); Push(Call(cls, TupleOf(args, at), at)); break; }
                case 0x92: { Pop(at); var args = Pop(at); var cls = Pop(at); Push(Call(cls, TupleOf(args, at), at)); break; } // NEWOBJ_EX: keyword arguments dropped
                case (byte)'b':
                {
                    var state = Pop(at);
                    // An object's state (a module's __dict__, a state dict's _metadata) is data to keep, not to apply.
                    if (Peek(at) is PickleObject target) target.State = state;
                    break;
                }
                case (byte)'Q': Push(_persistentLoad(Pop(at))); break;
                case (byte)'q': _memo[Byte()] = Peek(at); break;
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))] = Peek(at); break;
                case 0x94: _memo[_memo.Count] = Peek(at); break;
                case (byte)'h': Push(Memo(Byte(), at)); break;
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at)); break;
                default:
                    throw Error(at, $"opcode 0x{op:x2} ('{(op is >= 0x20 and < 0x7f ? (char)op : '?')}') is not one torch.save writes (pickle protocols 2 to 5)");
            }
        }
    }

    private object? Call(object? callable, object?[] args, int at) => callable is PickleGlobal global
        ? _reduce is null ? new PickleObject(global, args) : _reduce(global, args)
        : throw Error(at, "a call of something that is not a class or function");

    private object? Memo(long index, int at) => _memo.TryGetValue(index, out var value) ? value : throw Error(at, $"memo entry {index} is read before it is written");

    private static object Long(ReadOnlySpan<byte> bytes) =>
        bytes.Length <= 8 ? (long)new BigInteger(bytes, isUnsigned: false, isBigEndian: false) : new BigInteger(bytes, isUnsigned: false, isBigEndian: false);

    private object Long(int length) => Long(Bytes(length));

    private int Length(ulong length, int at) => length <= (ulong)(_data.Length - _position) ? (int)length : throw Error(at, $"a length of {length} bytes runs past the pickle's end");

    private string Text(ulong length, int at)
    {
        try
        {
            return StrictUtf8.GetString(Bytes(Length(length, at)));
        }
        catch (DecoderFallbackException)
        {
            throw Error(at, "a string is not valid UTF-8");
        }
    }

    private string Latin1(ulong length, int at) => Encoding.Latin1.GetString(Bytes(Length(length, at)));

    /// <summary>A newline-ended line of GLOBAL's text (ASCII module and name).</summary>
    private string Line(int at)
    {
        int end = Array.IndexOf(_data, (byte)'\n', _position);
        if (end < 0) throw Error(at, "GLOBAL's name has no end");
        string line = Encoding.ASCII.GetString(_data, _position, end - _position);
        _position = end + 1;
        return line;
    }

    private byte Byte() => _position < _data.Length ? _data[_position++] : throw Error(_position, "the pickle ends before STOP");

    private ReadOnlySpan<byte> Bytes(int count)
    {
        if (count > _data.Length - _position) throw Error(_position, "the pickle ends before STOP");
        var span = _data.AsSpan(_position, count);
        _position += count;
        return span;
    }

    private void Push(object? value) => _stack.Add(value);

    private object? Peek(int at) => _stack.Count > (_marks.Count > 0 ? _marks.Peek() : 0) ? _stack[^1] : throw Error(at, "an operation finds the stack empty");

    private object? Pop(int at)
    {
        var value = Peek(at);
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object?[] PopMark(int at)
    {
        if (_marks.Count == 0) throw Error(at, "an operation needs a MARK and there is none");
        int mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private List<object?> ListAt(int at) => Peek(at) as List<object?> ?? throw Error(at, "APPEND to something that is not a list");

    private PickleDict DictAt(int at) => Peek(at) switch
    {
        PickleDict dict => dict,
        // An OrderedDict the reduce callback did not turn into a dict, or another mapping class: its items are kept as its state.
        PickleObject { State: PickleDict items } => items,
        PickleObject o => (PickleDict)(o.State = new PickleDict()),
        _ => throw Error(at, "SETITEM on something that is not a dict"),
    };

    private PickleDict DictOf(object?[] items, int at)
    {
        if (items.Length % 2 != 0) throw Error(at, "DICT has a key without a value");
        var dict = new PickleDict();
        for (int i = 0; i < items.Length; i += 2) dict.Set(items[i], items[i + 1]);
        return dict;
    }

    private object?[] TupleOf(object? value, int at) => value as object?[] ?? throw Error(at, "a call's arguments are not a tuple");

    private string StringOf(object? value, int at) => value as string ?? throw Error(at, "STACK_GLOBAL's module and name are not strings");

    private WeightFormatException Error(int at, string what) => new($"{_where} at byte {at}: {what}");
}
