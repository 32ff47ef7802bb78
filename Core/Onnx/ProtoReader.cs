using System.Buffers.Binary;
using System.Text;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Reads protocol buffer wire format from one message: the bytes [position, end) of a buffer that
/// holds the whole file, so positions in error messages are file offsets.
/// </summary>
internal ref struct ProtoReader
{
    public const int MaxVarintBytes = 10;

    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _end;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> buffer, int start, int end, string where)
    {
        _buffer = buffer;
        _position = start;
        _end = end;
        Where = where;
    }

    /// <summary>Names the message being read, for error messages (e.g. "graph.node[3]").</summary>
    public string Where { get; set; }

    public readonly int Position => _position;

    public readonly bool AtEnd => _position >= _end;

    /// <summary>Reads the next field tag; false at the end of the message.</summary>
    public bool TryReadTag(out int field, out ProtoWireType wireType)
    {
        if (_position >= _end)
        {
            field = 0;
            wireType = default;
            return false;
        }
        int tagStart = _position;
        ulong tag = ReadVarint();
        ulong number = tag >> 3;
        int type = (int)(tag & 7);
        if (number == 0 || number > int.MaxValue)
            throw Error($"invalid field number {number} at byte {tagStart}");
        if (type is (int)ProtoWireType.StartGroup or (int)ProtoWireType.EndGroup)
            throw Error($"field {number} uses protobuf groups (wire type {type}), which ONNX never writes, at byte {tagStart}");
        if (type > (int)ProtoWireType.Fixed32)
            throw Error($"field {number} has invalid wire type {type} at byte {tagStart}");
        field = (int)number;
        wireType = (ProtoWireType)type;
        return true;
    }

    public ulong ReadVarint()
    {
        int start = _position;
        ulong result = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (_position >= _end)
                throw Error($"varint at byte {start} runs past the end of the message at byte {_end}");
            byte b = _buffer[_position++];
            // The tenth byte may only carry the top bit of a 64-bit value and must end the varint.
            if (shift == 63 && b > 1)
                throw Error($"varint at byte {start} is longer than {MaxVarintBytes} bytes or overflows 64 bits");
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return result;
        }
    }

    public long ReadInt64() => (long)ReadVarint();

    /// <summary>int32 and enum values are sign-extended 64-bit varints on the wire.</summary>
    public int ReadInt32() => (int)(long)ReadVarint();

    public uint ReadFixed32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, "fixed32"));

    public ulong ReadFixed64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, "fixed64"));

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());

    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>
    /// Where the field whose tag was just read ends (at most at the message's end), without reading it; a length that
    /// runs past the end is left for the read itself to report.
    /// </summary>
    public readonly int FieldEnd(ProtoWireType wireType)
    {
        switch (wireType)
        {
            case ProtoWireType.Fixed32: return Math.Min(_position + 4, _end);
            case ProtoWireType.Fixed64: return Math.Min(_position + 8, _end);
            case ProtoWireType.LengthDelimited:
                var length = this;
                ulong value = length.ReadVarint();
                return value > (ulong)(_end - length._position) ? _end : length._position + (int)value;
            default: return Math.Min(_position + MaxVarintBytes, _end);
        }
    }

    /// <summary>Reads a length-delimited field and returns the file offset of its payload.</summary>
    public int ReadLengthDelimited(out int length)
    {
        int lengthStart = _position;
        ulong value = ReadVarint();
        if (value > (ulong)(_end - _position))
            throw Error($"length {value} at byte {lengthStart} runs past the end of the message at byte {_end}");
        length = (int)value;
        int start = _position;
        _position += length;
        return start;
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        int start = ReadLengthDelimited(out int length);
        return _buffer.Slice(start, length);
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    public ProtoReader ReadMessage(string where)
    {
        int start = ReadLengthDelimited(out int length);
        return new ProtoReader(_buffer, start, start + length, where);
    }

    public void Skip(ProtoWireType wireType)
    {
        switch (wireType)
        {
            case ProtoWireType.Varint: ReadVarint(); break;
            case ProtoWireType.Fixed64: Take(8, "fixed64"); break;
            case ProtoWireType.Fixed32: Take(4, "fixed32"); break;
            case ProtoWireType.LengthDelimited: ReadLengthDelimited(out _); break;
            default: throw Error($"cannot skip wire type {(int)wireType}");
        }
    }

    /// <summary>Checks a known field's wire type before reading it.</summary>
    public readonly void Expect(int field, string name, ProtoWireType actual, ProtoWireType expected)
    {
        if (actual != expected)
            throw Error($"field {field} ({name}) has wire type {(int)actual}, expected {(int)expected}, before byte {_position}");
    }

    public readonly OnnxFormatException Error(string what) => new($"{Where}: {what}");

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (_end - _position < count)
            throw Error($"{what} at byte {_position} runs past the end of the message at byte {_end}");
        var bytes = _buffer.Slice(_position, count);
        _position += count;
        return bytes;
    }
}
