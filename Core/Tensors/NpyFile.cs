using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using TrtEngine.Core.Engines;

namespace TrtEngine.Core.Tensors;

/// <summary>
/// NumPy's .npy format (versions 1.0, 2.0 and 3.0), the file Python tools read and write with np.load and np.save.
/// Reads C-order arrays of floats, integers and booleans into float32 tensors (float64 rounded to nearest; refusing
/// values float32 cannot hold at all, and integers it would change); writes float32 in numpy's own layout. Everything is checked against the file's size before
/// anything is allocated, so a malformed file is an <see cref="NpyFormatException"/>, never a huge allocation.
/// </summary>
public static class NpyFile
{
    /// <summary>Longest header read; numpy itself refuses headers over 10,000 bytes unless told otherwise.</summary>
    public const int MaxHeaderBytes = 100_000;

    private const int Alignment = 64;
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a .npy file; the tensor is named after the file (x.npy → x) unless a name is given.</summary>
    public static TrtTensor Read(string path, string? name = null)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            return Read(stream, name ?? Path.GetFileNameWithoutExtension(path));
        }
        catch (NpyFormatException e)
        {
            throw new NpyFormatException(e.Message, path);
        }
    }

    public static TrtTensor Read(Stream stream, string name)
    {
        long length = stream.Length - stream.Position;
        Span<byte> preamble = stackalloc byte[12];
        if (length < 10 || ReadExactly(stream, preamble[..10]) < 10 || !preamble[..6].SequenceEqual(Magic))
            throw new NpyFormatException("not a .npy file (it does not start with \\x93NUMPY).");
        byte major = preamble[6], minor = preamble[7];
        if (minor != 0 || major is < 1 or > 3)
            throw new NpyFormatException($".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are).");
        int lengthBytes = major == 1 ? 2 : 4;
        if (lengthBytes == 4 && ReadExactly(stream, preamble[10..12]) < 2) throw new NpyFormatException("the file ends inside its preamble.");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(preamble[8..]);
        if (headerLength > MaxHeaderBytes) throw new NpyFormatException($"the header claims {headerLength} bytes; headers longer than {MaxHeaderBytes} are refused.");
        long dataOffset = 8 + lengthBytes + headerLength;
        if (dataOffset > length) throw new NpyFormatException($"the header claims {headerLength} bytes but the file has only {length} bytes.");

        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes);
        var encoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
        var header = NpyHeader.Parse(encoding.GetString(headerBytes));
        var type = NpyElementType.Parse(header.Descr);
        if (header.FortranOrder && header.Shape.Length > 1)
            throw new NpyFormatException("the array is in Fortran (column-major) order; save it in C order, e.g. np.save(path, np.ascontiguousarray(a)).");

        long count = 1;
        foreach (long d in header.Shape)
        {
            if (d > int.MaxValue) throw new NpyFormatException($"dimension {d} of shape ({string.Join(", ", header.Shape)}) is too large.");
            count = d == 0 ? 0 : count > Array.MaxLength / d ? long.MaxValue : count * d;
        }
        if (count > Array.MaxLength) throw new NpyFormatException($"shape ({string.Join(", ", header.Shape)}) has more elements than a tensor can hold.");
        long dataBytes = count * type.Size;
        if (dataBytes != length - dataOffset)
            throw new NpyFormatException($"shape ({string.Join(", ", header.Shape)}) of '{header.Descr}' needs {dataBytes} bytes of data, but the file has {length - dataOffset}{(dataBytes > length - dataOffset ? " (truncated?)" : "")}.");

        var raw = new byte[dataBytes];
        ReadExactly(stream, raw);
        return new TrtTensor
        {
            Name = name,
            Shape = Array.ConvertAll(header.Shape, d => (int)d),
            Data = type.ToFloats(raw),
        };
    }

    /// <summary>
    /// Writes float32 data as numpy does: version 1.0 (2.0 for very long headers), C order, the data at a multiple of 64
    /// bytes; as '&lt;f4', or for a tensor of integers or bools (<paramref name="dataType"/> Int64, Int32, Bool, whose
    /// values are exact floats) as '&lt;i8', '&lt;i4' or '|b1'.
    /// </summary>
    public static void Write(Stream stream, IReadOnlyList<int> shape, ReadOnlySpan<float> data, string dataType = "Float32")
    {
        long count = 1;
        foreach (int d in shape) count *= d >= 0 ? d : throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has a negative dimension.");
        if (count != data.Length) throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {count} values but the data has {data.Length}.");

        var (descr, size) = dataType switch
        {
            "Int64" => ("<i8", 8),
            "Int32" => ("<i4", 4),
            "Bool" => ("|b1", 1),
            _ => ("<f4", 4),
        };
        string header = new NpyHeader(descr, false, shape.Select(d => (long)d).ToArray()).Format();
        int lengthBytes = header.Length + 1 + Alignment > ushort.MaxValue ? 4 : 2;
        int padding = Alignment - (Magic.Length + 2 + lengthBytes + header.Length + 1) % Alignment;
        byte[] headerBytes = Encoding.Latin1.GetBytes(header + new string(' ', padding) + "\n");

        stream.Write(Magic);
        stream.Write([(byte)(lengthBytes == 2 ? 1 : 2), 0]);
        Span<byte> length = stackalloc byte[lengthBytes];
        if (lengthBytes == 2) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)headerBytes.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        if (descr == "<f4" && BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data));
            return;
        }
        var bytes = new byte[size];
        foreach (float v in data)
        {
            switch (descr)
            {
                case "<i8": BinaryPrimitives.WriteInt64LittleEndian(bytes, (long)v); break;
                case "<i4": BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)v); break;
                case "|b1": bytes[0] = v != 0 ? (byte)1 : (byte)0; break;
                default: BinaryPrimitives.WriteSingleLittleEndian(bytes, v); break;
            }
            stream.Write(bytes);
        }
    }

    private static int ReadExactly(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
