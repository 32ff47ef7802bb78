using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace TrtEngine.Core.Weights;

/// <summary>
/// A .safetensors file: an 8-byte little-endian header length, a JSON header mapping tensor names
/// to dtype, shape and data_offsets (relative to the data section after the header), then the data.
/// All tensors are converted to float32 on load.
/// </summary>
public sealed class SafetensorsFile
{
    // A header larger than this is not a weights index but a hostile or broken file.
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private SafetensorsFile(string path, IReadOnlyDictionary<string, WeightTensor> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, WeightTensor> Tensors { get; }

    /// <summary>The header's "__metadata__" string map; empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsFile Load(string path) => Load(path, n => new float[n]);

    /// <param name="allocate">Makes each tensor's array (a refit from a file rents them from the engine weight pool).</param>
    /// <param name="tensorRead">Told each tensor as soon as it is read.</param>
    internal static SafetensorsFile Load(string path, Func<int, float[]> allocate, Action<string, float[]>? tensorRead = null)
    {
        using var handle = File.OpenHandle(path);
        long fileSize = RandomAccess.GetLength(handle);
        if (fileSize < 8)
            throw Error(path, $"the file has {fileSize} bytes, fewer than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        ReadExactly(handle, lengthBytes, 0, path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileSize - 8))
            throw Error(path, $"header length {headerLength} runs past the end of the file ({fileSize} bytes)");
        if (headerLength > MaxHeaderBytes)
            throw Error(path, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");

        var header = new byte[headerLength];
        ReadExactly(handle, header, 8, path);
        // JSON readers accept invalid UTF-8 inside strings until a name is decoded, and then throw an untyped error.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw Error(path, "the header is not valid UTF-8");
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileSize - dataStart;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new WeightFormatException($"{path}: the header is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Error(path, "the header is not a JSON object");
            var tensors = new Dictionary<string, WeightTensor>();
            var metadata = new Dictionary<string, string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }
                if (tensors.ContainsKey(property.Name))
                    throw Error(path, $"tensor '{property.Name}' appears twice in the header");
                var entry = SafetensorsEntry.Parse(path, property.Name, property.Value, dataLength);
                var tensor = ReadTensor(handle, path, property.Name, entry, dataStart, allocate);
                tensors.Add(property.Name, tensor);
                tensorRead?.Invoke(tensor.Name, tensor.Data);
            }
            return new SafetensorsFile(path, tensors, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw Error(path, "__metadata__ is not a JSON object");
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Error(path, $"__metadata__ entry '{item.Name}' is not a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static WeightTensor ReadTensor(SafeFileHandle handle, string path, string name, SafetensorsEntry entry, long dataStart, Func<int, float[]> allocate)
    {
        int count = checked((int)entry.ElementCount);
        var data = allocate(count);
        long offset = dataStart + entry.Begin;
        if (entry.DType == "F32" && BitConverter.IsLittleEndian)
        {
            ReadExactly(handle, MemoryMarshal.AsBytes(data.AsSpan()), offset, path);
            return new WeightTensor(name, entry.Shape, data, entry.DType);
        }

        var bytes = new byte[entry.End - entry.Begin];
        ReadExactly(handle, bytes, offset, path);
        for (int i = 0; i < count; i++)
        {
            data[i] = entry.DType switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i)),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(2 * i)),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2 * i)) << 16),
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(8 * i)),
                "I64" => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8 * i)),
                _ => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 * i)),
            };
        }
        return new WeightTensor(name, entry.Shape, data, entry.DType);
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int read = RandomAccess.Read(handle, buffer.Slice(done), offset + done);
            if (read == 0)
                throw Error(path, $"the file ended at byte {offset + done} while reading");
            done += read;
        }
    }

    private static WeightFormatException Error(string path, string what) => new($"{path}: {what}");
}
