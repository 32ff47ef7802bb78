using System.Buffers;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using TrtEngine.Core.IO;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Reads tensor bytes stored outside the model (data_location = EXTERNAL) for one parse. The location must stay
/// inside the model's directory: a model file is untrusted input and must not read arbitrary files. Each location is
/// resolved, checked and opened once per parse, not once per tensor: a model's weights usually share one file (parsing
/// a ViT-Ti/16 whose 152 weights lie in one file took 12.6–12.8 ms with the file resolved, checked and opened for
/// each, 6.8–7.0 since: medians of 50, old and new builds taking turns).
/// Buffers rented from the shared pool are listed in <paramref name="rented"/> when it is given; otherwise each
/// tensor's bytes are a new array.
/// </summary>
internal sealed class OnnxExternalData(string? baseDirectory, List<byte[]>? rented) : IDisposable
{
    private readonly Dictionary<string, ExternalFile> _files = new(StringComparer.Ordinal);

    /// <summary>A location's checked path, and the file once a tensor with bytes opened it.</summary>
    private sealed class ExternalFile(string path)
    {
        public string Path { get; } = path;
        public SafeFileHandle? Handle;
        public long Length;
    }

    /// <summary>The tensor's bytes, in a buffer of their own.</summary>
    public ReadOnlyMemory<byte> Read(string where, IReadOnlyDictionary<string, string> entries, long expectedBytes, string need)
    {
        var (handle, location, offset, byteCount) = Locate(where, entries, expectedBytes, need);
        if (handle is null) return ReadOnlyMemory<byte>.Empty;
        byte[] buffer;
        if (rented is null) buffer = new byte[byteCount];
        else rented.Add(buffer = ArrayPool<byte>.Shared.Rent((int)byteCount));
        var bytes = buffer.AsMemory(0, (int)byteCount);
        ReadExactly(where, handle, location, offset, bytes.Span);
        return bytes;
    }

    /// <summary>The tensor's bytes, read straight into <paramref name="destination"/>, which holds <paramref name="expectedBytes"/>.</summary>
    public void ReadInto(string where, IReadOnlyDictionary<string, string> entries, long expectedBytes, string need, Span<byte> destination)
    {
        var (handle, location, offset, _) = Locate(where, entries, expectedBytes, need);
        if (handle is not null) ReadExactly(where, handle, location, offset, destination);
    }

    /// <summary>
    /// The checked range of a tensor's external data, and its file, opened by the first tensor with bytes to read (none
    /// for an empty tensor: nothing is opened for 0 bytes).
    /// </summary>
    private (SafeFileHandle? Handle, string Location, long Offset, long ByteCount) Locate(string where, IReadOnlyDictionary<string, string> entries, long expectedBytes, string need)
    {
        if (baseDirectory is null)
            throw Error(where, "the tensor's data is external, but the model was not loaded from a file");
        if (!entries.TryGetValue("location", out var location) || location.Length == 0)
            throw Error(where, "external data has no location");
        long offset = ParseNumber(where, entries, "offset") ?? 0;
        long? length = ParseNumber(where, entries, "length");
        long byteCount = length ?? expectedBytes;
        if (!_files.TryGetValue(location, out var file)) _files[location] = file = new ExternalFile(ResolveInside(where, baseDirectory, location));
        // Until it is open, judged by the size the directory lists: a pipe or a device (size 0) would block the open, or a
        // read, for ever.
        CheckRange(where, location, offset, byteCount, expectedBytes, need, file.Handle is null ? new FileInfo(file.Path).Length : file.Length);
        if (byteCount == 0) return (null, location, offset, 0);
        if (file.Handle is null)
        {
            var handle = File.OpenHandle(file.Path);
            try
            {
                file.Length = RandomAccess.GetLength(handle);
                CheckRange(where, location, offset, byteCount, expectedBytes, need, file.Length);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
            file.Handle = handle;
        }
        return (file.Handle, location, offset, byteCount);
    }

    private static void ReadExactly(string where, SafeFileHandle handle, string location, long offset, Span<byte> destination)
    {
        if (FileReader.Read(handle, destination, offset) < destination.Length)
            throw Error(where, $"'{location}' ended while reading its data");
    }

    public void Dispose()
    {
        foreach (var file in _files.Values) file.Handle?.Dispose();
        _files.Clear();
    }

    private static void CheckRange(string where, string location, long offset, long byteCount, long expectedBytes, string need, long fileSize)
    {
        if (offset > fileSize)
            throw Error(where, $"external data offset {offset} is past the end of '{location}' ({fileSize} bytes)");
        if (byteCount > fileSize - offset)
            throw Error(where, $"external data at offset {offset} with length {byteCount} runs past the end of '{location}' ({fileSize} bytes{(fileSize == 0 ? "; a pipe or a device lists none" : "")})");
        if (byteCount != expectedBytes)
            throw Error(where, $"external data holds {byteCount} bytes but {need} {expectedBytes}");
        if (byteCount > Array.MaxLength)
            throw Error(where, $"external data of {byteCount} bytes is larger than one array can hold");
    }

    private static string ResolveInside(string where, string baseDirectory, string location)
    {
        if (location.Contains('\0'))
            throw Error(where, "external data location contains a NUL character");
        if (Path.IsPathRooted(location))
            throw Error(where, $"external data location '{location}' is absolute; it must be relative to the model's directory");
        var root = Path.GetFullPath(baseDirectory);
        var path = Path.GetFullPath(Path.Combine(root, location));
        var prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
            throw Error(where, $"external data location '{location}' leaves the model's directory");

        // A link below the model directory could point anywhere, so none is followed.
        var current = root;
        foreach (var part in Path.GetRelativePath(root, path).Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, part);
            if (new FileInfo(current).LinkTarget is not null)
                throw Error(where, $"external data location '{location}' goes through a link");
        }
        if (!File.Exists(path))
            throw Error(where, $"external data file '{location}' does not exist in '{root}'");
        return path;
    }

    private static long? ParseNumber(string where, IReadOnlyDictionary<string, string> entries, string key)
    {
        if (!entries.TryGetValue(key, out var text))
            return null;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            throw Error(where, $"external data {key} '{text}' is not a non-negative integer");
        return value;
    }

    private static OnnxFormatException Error(string where, string what) => new($"{where}: {what}");
}
