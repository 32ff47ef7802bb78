using System.Buffers.Binary;
using System.Text.Json;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Testing.Weights;

/// <summary>Writes .safetensors files of float tensors stored as F32, F16 or BF16, or as the integers I64 and I32.</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, string dtype = "F32") =>
        Write(path, tensors.Select(t => (t.Name, t.Shape, t.Data, dtype)));

    /// <summary>Each tensor in its own dtype (integer ones hold the values truncated toward zero).</summary>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data, string DType)> tensors)
    {
        var list = tensors.ToList();
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            long offset = 0;
            foreach (var (name, shape, data, dtype) in list)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (int dim in shape)
                    json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)data.Length * ElementSize(dtype);
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // The format pads the header with spaces so the data section starts 8-byte aligned.
        while (header.Length % 8 != 0)
            header.WriteByte((byte)' ');

        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        file.Write(length);
        header.Position = 0;
        header.CopyTo(file);
        // Each tensor in one write, as the format's own writers do: the page cache then holds the file in large folios,
        // which the kernel reads out about twice as fast as the 4 KB ones that writes of a value at a time leave.
        foreach (var (_, _, data, dtype) in list) file.Write(Encode(data, dtype));
    }

    /// <summary>Values as a checkpoint stores them in <paramref name="dtype"/>, little-endian.</summary>
    internal static byte[] Encode(float[] data, string dtype)
    {
        int size = ElementSize(dtype);
        var bytes = new byte[(long)data.Length * size];
        for (int i = 0; i < data.Length; i++)
        {
            var at = bytes.AsSpan(size * i);
            switch (dtype)
            {
                case "F32": BinaryPrimitives.WriteSingleLittleEndian(at, data[i]); break;
                case "F16": BinaryPrimitives.WriteHalfLittleEndian(at, (Half)data[i]); break;
                case "BF16": BinaryPrimitives.WriteUInt16LittleEndian(at, TensorValue.ToBFloat16Bits(data[i])); break;
                case "I64": BinaryPrimitives.WriteInt64LittleEndian(at, (long)data[i]); break;
                default: BinaryPrimitives.WriteInt32LittleEndian(at, (int)data[i]); break;
            }
        }
        return bytes;
    }

    private static int ElementSize(string dtype) => dtype switch
    {
        "F32" or "I32" => 4,
        "F16" or "BF16" => 2,
        "I64" => 8,
        _ => throw new ArgumentException($"dtype '{dtype}' is not one of F32, F16, BF16, I64, I32", nameof(dtype)),
    };
}
