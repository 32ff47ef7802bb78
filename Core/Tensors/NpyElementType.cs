using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace TrtEngine.Core.Tensors;

/// <summary>An element type of a .npy array (its 'descr', e.g. '&lt;f4') and how its values become float32.</summary>
internal sealed record NpyElementType(string Descr, char Kind, int Size, bool BigEndian)
{
    public static NpyElementType Parse(string descr)
    {
        if (descr.Length >= 3 && descr[0] is '<' or '>' or '|' or '=' && int.TryParse(descr.AsSpan(2), out int size))
        {
            char kind = descr[1];
            bool known = kind switch
            {
                'f' => size is 2 or 4 or 8,
                'i' or 'u' => size is 1 or 2 or 4 or 8,
                'b' => size == 1,
                _ => false,
            };
            if (known) return new NpyElementType(descr, kind, size, descr[0] == '>' || (descr[0] == '=' && !BitConverter.IsLittleEndian));
        }
        throw new NpyFormatException($"element type '{descr}' is not supported: the engine takes float32, and floats, integers and booleans are converted to it (save with a.astype(np.float32)).");
    }

    /// <summary>The values as float32; integers must be exactly representable and floats within float32's range.</summary>
    public float[] ToFloats(byte[] raw)
    {
        var values = new float[raw.Length / Size];
        if (Kind == 'f' && Size == 4 && BigEndian != BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(raw).CopyTo(values);
            return values;
        }
        for (int i = 0; i < values.Length; i++)
        {
            var bytes = raw.AsSpan(i * Size, Size);
            values[i] = (Kind, Size) switch
            {
                ('f', 2) => (float)(BigEndian ? BinaryPrimitives.ReadHalfBigEndian(bytes) : BinaryPrimitives.ReadHalfLittleEndian(bytes)),
                ('f', 4) => BigEndian ? BinaryPrimitives.ReadSingleBigEndian(bytes) : BinaryPrimitives.ReadSingleLittleEndian(bytes),
                ('f', _) => Narrow(BigEndian ? BinaryPrimitives.ReadDoubleBigEndian(bytes) : BinaryPrimitives.ReadDoubleLittleEndian(bytes), i),
                ('b', _) => bytes[0] != 0 ? 1f : 0f,
                ('i', 1) => (sbyte)bytes[0],
                ('u', 1) => bytes[0],
                ('i', 2) => BigEndian ? BinaryPrimitives.ReadInt16BigEndian(bytes) : BinaryPrimitives.ReadInt16LittleEndian(bytes),
                ('u', 2) => BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes),
                ('i', 4) => Exact(BigEndian ? BinaryPrimitives.ReadInt32BigEndian(bytes) : BinaryPrimitives.ReadInt32LittleEndian(bytes), i),
                ('u', 4) => Exact(BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes), i),
                ('i', _) => Exact(BigEndian ? BinaryPrimitives.ReadInt64BigEndian(bytes) : BinaryPrimitives.ReadInt64LittleEndian(bytes), i),
                _ => Exact(BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes), i),
            };
        }
        return values;
    }

    private float Narrow(double value, int index) =>
        ExactFloat32.Holds(value, out float f) ? f : throw new NpyFormatException($"value {value} at index {index} ('{Descr}') is outside float32's range.");

    /// <summary>Integers beyond 2^24 may not survive float32; refuse those that do not rather than change them silently.</summary>
    private float Exact(long value, int index) => ExactFloat32.Holds(value) ? value : throw Inexact(value, index);

    private float Exact(ulong value, int index) => ExactFloat32.Holds(value) ? value : throw Inexact(value, index);

    private NpyFormatException Inexact(object value, int index) =>
        new($"integer {value} at index {index} ('{Descr}') cannot be represented exactly as float32.");
}
