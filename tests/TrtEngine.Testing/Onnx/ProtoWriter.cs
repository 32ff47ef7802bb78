using System.Buffers.Binary;
using System.Text;

namespace TrtEngine.Testing.Onnx;

/// <summary>
/// Writes protocol buffer wire format. Public so tests can also write deliberately broken messages.
/// </summary>
public sealed class ProtoWriter
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int Fixed32 = 5;

    private readonly MemoryStream _stream = new();

    public int Length => (int)_stream.Length;

    public byte[] ToArray() => _stream.ToArray();

    public void WriteTag(int field, int wireType) => WriteVarint(((ulong)field << 3) | (uint)wireType);

    public void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _stream.WriteByte((byte)value);
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    public void WriteInt64(int field, long value)
    {
        WriteTag(field, Varint);
        WriteVarint((ulong)value);
    }

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        WriteRaw(bytes);
    }

    public void WriteDouble(int field, double value)
    {
        WriteTag(field, Fixed64);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        WriteRaw(bytes);
    }

    public void WriteBytes(int field, ReadOnlySpan<byte> bytes)
    {
        WriteTag(field, LengthDelimited);
        WriteVarint((ulong)bytes.Length);
        WriteRaw(bytes);
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>Writes a nested message whose fields <paramref name="body"/> writes.</summary>
    public void WriteMessage(int field, Action<ProtoWriter> body)
    {
        var inner = new ProtoWriter();
        body(inner);
        WriteBytes(field, inner.ToArray());
    }

    public void WritePackedVarints(int field, IEnumerable<long> values) =>
        WriteMessage(field, w =>
        {
            foreach (long value in values)
                w.WriteVarint((ulong)value);
        });

    public void WritePackedFloats(int field, IEnumerable<float> values) =>
        WriteMessage(field, w =>
        {
            Span<byte> bytes = stackalloc byte[4];
            foreach (float value in values)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
                w.WriteRaw(bytes);
            }
        });

    public void WritePackedDoubles(int field, IEnumerable<double> values) =>
        WriteMessage(field, w =>
        {
            Span<byte> bytes = stackalloc byte[8];
            foreach (double value in values)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
                w.WriteRaw(bytes);
            }
        });
}
