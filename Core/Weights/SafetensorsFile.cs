using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using System.Text.Json;
using TrtEngine.Core.IO;
using TrtEngine.Core.Tensors;

namespace TrtEngine.Core.Weights;

/// <summary>
/// A .safetensors file: an 8-byte little-endian header length, a JSON header mapping tensor names
/// to dtype, shape and data_offsets (relative to the data section after the header), then the data, which the tensors'
/// ranges must tile: no overlaps, holes or trailing bytes.
/// All tensors are converted to float32 on load: F16 and BF16 exactly, F64 rounded to nearest, I64 and I32 as numbers
/// (marked as integers: <see cref="WeightTensor.IsInteger"/>).
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

    /// <summary>The names of the file's tensors, from its header alone (cheap: for tab completion).</summary>
    public static IReadOnlyList<string> TensorNames(string path)
    {
        using var handle = File.OpenHandle(path);
        List<(string Name, SafetensorsEntry Entry)> entries = [];
        ReadHeader(handle, path, entries, []);
        return entries.Select(e => e.Name).ToList();
    }

    /// <param name="allocate">Makes each tensor's array (a refit from a file rents them from the engine weight pool).</param>
    /// <param name="tensorRead">
    /// Asked, on this thread, for each floating-point tensor's name once the header is read; what it returns is told each part of the
    /// tensor's values as soon as it is read, on the thread that read it: the array and the elements [start, end) now in it.
    /// </param>
    /// <param name="readPieces">
    /// Reads the data in pieces, given the file's opening (to run on the calling thread: it reads the header, makes the
    /// arrays, asks for the names and returns how many pieces there are) and the read of one, which may run on several
    /// threads at once: a floating-point tensor larger than a piece is split, so that they share it, and the tensors of one
    /// piece come first, so that a large weight's pieces find what it is combined with (a BatchNormalization's
    /// parameters) already in. Without it each tensor is read whole, in the file's order.
    /// </param>
    /// <param name="opened">The file, opened by the caller (who closes it); null opens it here.</param>
    internal static SafetensorsFile Load(string path, Func<int, float[]> allocate, Func<string, Action<float[], int, int>?>? tensorRead = null,
        Action<Func<int>, Action<int>>? readPieces = null, SafeFileHandle? opened = null)
    {
        SafeFileHandle? handle = null;
        long dataStart = 0;
        List<(string Name, SafetensorsEntry Entry)> entries = [];
        Dictionary<string, string> metadata = [];
        WeightTensor[] tensors = [];
        Action<float[], int, int>?[] told = [];
        // Tensors of one piece, then the pieces of the larger ones, each in the file's order.
        List<(int Tensor, long Begin, long End)> pieces = [];
        try
        {
            (readPieces ?? ReadInOrder)(() =>
            {
                handle = opened ?? File.OpenHandle(path);
                dataStart = ReadHeader(handle, path, entries, metadata);
                tensors = entries.Select(e => new WeightTensor(e.Name, e.Entry.Shape, allocate(checked((int)e.Entry.ElementCount)), e.Entry.DType)).ToArray();
                // Integer tensors are never engine weights: nothing to prepare from them.
                told = tensors.Select(t => t.IsInteger ? null : tensorRead?.Invoke(t.Name)).ToArray();
                List<(int Tensor, long Begin, long End)> larger = [];
                for (int j = 0; j < entries.Count; j++)
                {
                    var (begin, end) = (entries[j].Entry.Begin, entries[j].Entry.End);
                    long step = readPieces is not null && !tensors[j].IsInteger ? PieceBytes : Math.Max(1, end - begin);
                    var into = end - begin > step ? larger : pieces;
                    do into.Add((j, begin, Math.Min(end, begin + step)));
                    while ((begin += step) < end);
                }
                pieces.AddRange(larger);
                return pieces.Count;
            }, p =>
            {
                var (j, begin, end) = pieces[p];
                var entry = entries[j].Entry;
                ReadPiece(handle!, path, tensors[j].Name, entry, tensors[j].Data, dataStart, begin, end);
                if (told[j] is { } tell)
                {
                    int size = StoredValues.ElementSize(entry.DType);
                    tell(tensors[j].Data, (int)((begin - entry.Begin) / size), (int)((end - entry.Begin) / size));
                }
            });
            return new SafetensorsFile(path, tensors.ToDictionary(t => t.Name, StringComparer.Ordinal), metadata);
        }
        finally
        {
            if (opened is null) handle?.Dispose();
        }
    }

    /// <summary>Reads and checks the header, listing its tensors and metadata; returns where the data section starts.</summary>
    private static long ReadHeader(SafeFileHandle handle, string path, List<(string Name, SafetensorsEntry Entry)> entries, Dictionary<string, string> metadata)
    {
        long fileSize = RandomAccess.GetLength(handle);
        if (fileSize < 8)
            throw Error(path, $"the file has {fileSize} bytes, fewer than the 8-byte header length: it is not a safetensors file");
        Span<byte> lengthBytes = stackalloc byte[8];
        ReadExactly(handle, lengthBytes, 0, path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileSize - 8))
            throw Error(path, $"header length {headerLength} runs past the end of the file ({fileSize} bytes): it is not a safetensors file, or a truncated one");
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
            var names = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Name == "__metadata__")
                    {
                        ReadMetadata(path, property.Value, metadata);
                        continue;
                    }
                    if (!names.Add(property.Name))
                        throw Error(path, $"tensor '{property.Name}' appears twice in the header");
                    entries.Add((property.Name, SafetensorsEntry.Parse(path, property.Name, property.Value, dataLength)));
                }
            }
            catch (InvalidOperationException e)
            {
                // Valid UTF-8 can still escape half a UTF-16 surrogate pair ("\ud800"): the parse accepts it, and decoding
                // that name, dtype or metadata string throws an untyped error (the format's reference reader refuses it as JSON).
                throw new WeightFormatException($"{path}: the header holds a string that is not valid Unicode (an escaped lone UTF-16 surrogate): {e.Message}", e);
            }
        }
        CheckTiling(path, entries, dataLength);
        return dataStart;
    }

    /// <summary>
    /// Checks that the tensors' ranges tile the data section, as the format requires: without it a tensor pointing into
    /// another's bytes would load that tensor's values, and bytes after the last tensor would go unnoticed.
    /// </summary>
    private static void CheckTiling(string path, List<(string Name, SafetensorsEntry Entry)> entries, long dataLength)
    {
        // Headers list tensors in any order; sorting (begin, end) puts an empty range before a non-empty one at the same offset.
        // An empty range inside another tensor's bytes is an overlap, as the format's reference reader has it.
        var ranges = new (long Begin, long End, int Index)[entries.Count];
        for (int i = 0; i < ranges.Length; i++)
            ranges[i] = (entries[i].Entry.Begin, entries[i].Entry.End, i);
        Array.Sort(ranges);
        const string Remedy = "the file is damaged or was not written by a safetensors writer; re-save the checkpoint";
        long covered = 0;
        int previous = -1;
        foreach (var (begin, end, index) in ranges)
        {
            if (begin < covered)
                throw Error(path, $"tensors {Describe(entries[previous])} and {Describe(entries[index])} overlap: {Remedy}");
            if (begin > covered)
                throw Error(path, $"bytes [{covered}, {begin}) of the data section, "
                    + (previous < 0 ? "before" : $"between {Describe(entries[previous])} and") + $" {Describe(entries[index])}, belong to no tensor: {Remedy}");
            covered = end;
            previous = index;
        }
        if (covered < dataLength)
            throw Error(path, $"bytes [{covered}, {dataLength}) of the data section, "
                + (previous < 0 ? "with no tensors in the header," : $"after the last tensor {Describe(entries[previous])},") + $" belong to no tensor: {Remedy}");

        static string Describe((string Name, SafetensorsEntry Entry) e) => $"'{e.Name}' [{e.Entry.Begin}, {e.Entry.End})";
    }

    /// <summary>Bytes in a piece of a float32 tensor when threads share the read (SqueezeNet's 2 MB classifier is eight).</summary>
    private const long PieceBytes = 256 << 10;

    private static void ReadInOrder(Func<int> open, Action<int> read)
    {
        for (int p = 0, count = open(); p < count; p++) read(p);
    }

    /// <summary>Whether a tensor's bytes are its float32 values as they lie in memory, read in place.</summary>
    private static bool IsRaw(SafetensorsEntry entry) => entry.DType == "F32" && BitConverter.IsLittleEndian;

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

    /// <summary>
    /// Reads bytes [<paramref name="begin"/>, <paramref name="end"/>) of the data section, a tensor's or part of
    /// one (whole values): raw float32 in place, any other type converted a chunk at a time.
    /// </summary>
    private static void ReadPiece(SafeFileHandle handle, string path, string name, SafetensorsEntry entry, float[] data, long dataStart, long begin, long end)
    {
        if (IsRaw(entry))
        {
            ReadExactly(handle, MemoryMarshal.AsBytes(data.AsSpan()).Slice((int)(begin - entry.Begin), (int)(end - begin)), dataStart + begin, path);
            return;
        }

        int size = StoredValues.ElementSize(entry.DType);
        var chunk = ArrayPool<byte>.Shared.Rent((int)Math.Min(end - begin, StoredValues.ChunkBytes));
        try
        {
            for (long at = begin; at < end;)
            {
                int bytes = (int)Math.Min(end - at, chunk.Length / size * size);
                ReadExactly(handle, chunk.AsSpan(0, bytes), dataStart + at, path);
                long first = (at - entry.Begin) / size;
                StoredValues.ToFloat32(entry.DType, chunk.AsSpan(0, bytes), data.AsSpan((int)first, bytes / size), $"{path}: tensor '{name}'", first);
                at += bytes;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        int done = FileReader.Read(handle, buffer, offset);
        if (done < buffer.Length)
            throw Error(path, $"the file ended at byte {offset + done} while reading");
    }

    private static WeightFormatException Error(string path, string what) => new($"{path}: {what}");
}
