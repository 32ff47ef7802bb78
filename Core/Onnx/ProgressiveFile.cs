using System.Buffers;
using Microsoft.Win32.SafeHandles;
using TrtEngine.Core.IO;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// A model file open for reading into a pooled buffer, its bytes starting on a cache line (where the kernel's copy
/// into the buffer runs fastest), and read only as far as its parser has asked: the parse meets the first initializers
/// (and hands them on: a refit's preparation packs them meanwhile) while the rest of the file is still to be read,
/// instead of after one read of the whole file. Disposing closes the file and hands back the buffer, with any that
/// the parse rented for external data (<see cref="Rented"/>).
/// </summary>
internal sealed class ProgressiveFile : IDisposable
{
    /// <summary>Reads at least this many bytes at a time: a few system calls per model, and still a small part of one.</summary>
    private const int ChunkBytes = 1 << 18;

    private readonly SafeFileHandle _file;
    private readonly Memory<byte> _buffer;

    /// <summary>Bytes read so far, from the start.</summary>
    private int _read;

    private ProgressiveFile(string path, SafeFileHandle file, byte[] buffer, int length)
    {
        (Path, _file) = (path, file);
        _buffer = buffer.AsMemory(FileReader.AlignedStart(buffer), length);
        Rented.Add(buffer);
    }

    /// <summary>Opens a model file (<paramref name="path"/> as given, for errors).</summary>
    public static ProgressiveFile Open(string path)
    {
        var file = File.OpenHandle(System.IO.Path.GetFullPath(path));
        try
        {
            long length = RandomAccess.GetLength(file);
            if (length > Array.MaxLength - 63) throw new OnnxFormatException($"The model is {length} bytes; TrtEngine reads models up to {Array.MaxLength - 63} bytes (keep large weights as external data).", path, null);
            // Room to start the file's bytes on a cache line.
            return new ProgressiveFile(path, file, ArrayPool<byte>.Shared.Rent((int)length + 63), (int)length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>The file's bytes, as far as they have been read.</summary>
    public ReadOnlyMemory<byte> Bytes => _buffer;

    /// <summary>Pooled buffers handed back on disposal: this file's, then any its parse rents.</summary>
    public List<byte[]> Rented { get; } = [];

    /// <summary>Reads the file up to byte <paramref name="end"/> (at most its length) if it is not yet.</summary>
    public void Ensure(int end)
    {
        int length = _buffer.Length;
        end = Math.Min(end, length);
        if (_read >= end) return;
        int want = Math.Min(length, Math.Max(end, _read + ChunkBytes)) - _read;
        int read = FileReader.Read(_file, _buffer.Span.Slice(_read, want), _read);
        _read += read;
        if (read < want) throw new OnnxFormatException($"The file ended while being read ({_read} of {length} bytes).", Path, null);
    }

    /// <summary>Reads the whole file.</summary>
    public void ReadAll() => Ensure(_buffer.Length);

    public void Dispose()
    {
        _file.Dispose();
        foreach (byte[] b in Rented) ArrayPool<byte>.Shared.Return(b);
        Rented.Clear();
    }
}
