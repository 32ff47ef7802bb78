using Microsoft.Win32.SafeHandles;
using TrtEngine.Core.IO;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// A file read into a buffer only as far as its parser has asked: the parse meets the first initializers (and hands
/// them on: a refit's preparation packs them meanwhile) while the rest of the file is still to be read, instead of
/// after one read of the whole file.
/// </summary>
internal sealed class ProgressiveFile(SafeFileHandle file, Memory<byte> buffer, string path)
{
    /// <summary>Reads at least this many bytes at a time: a few system calls per model, and still a small part of one.</summary>
    private const int ChunkBytes = 1 << 18;

    /// <summary>Bytes read so far, from the start.</summary>
    private int _read;

    /// <summary>Reads the file up to byte <paramref name="end"/> (at most its length) if it is not yet.</summary>
    public void Ensure(int end)
    {
        int length = buffer.Length;
        end = Math.Min(end, length);
        if (_read >= end) return;
        int want = Math.Min(length, Math.Max(end, _read + ChunkBytes)) - _read;
        int read = FileReader.Read(file, buffer.Span.Slice(_read, want), _read);
        _read += read;
        if (read < want) throw new OnnxFormatException($"The file ended while being read ({_read} of {length} bytes).", path, null);
    }
}
