using System.Buffers.Binary;
using System.Text.Json;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Testing.Weights;

/// <summary>Writes .safetensors files of float tensors stored as F32, F16 or BF16.</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, string dtype = "F32")
    {
        int elementSize = dtype switch
        {
            "F32" => 4,
            "F16" or "BF16" => 2,
            _ => throw new ArgumentException($"dtype '{dtype}' is not one of F32, F16, BF16", nameof(dtype)),
        };
        var list = tensors.ToList();
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            long offset = 0;
            foreach (var (name, shape, data) in list)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (int dim in shape)
                    json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)data.Length * elementSize;
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
        foreach (var (_, _, data) in list)
        {
            var bytes = new byte[(long)data.Length * elementSize];
            for (int i = 0; i < data.Length; i++)
            {
                switch (dtype)
                {
                    case "F32": BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]); break;
                    case "F16": BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)data[i]); break;
                    default: BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), TensorValue.ToBFloat16Bits(data[i])); break;
                }
            }
            file.Write(bytes);
        }
    }
}
