using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using TrtEngine.Native.Kernels;

namespace TrtEngine.Core.IO;

/// <summary>
/// Reads of file ranges into memory that keep the kernel's copy fast. The kernel copies a read from the page cache with
/// a string move, which runs up to 2.8× slower where the destination lies 1 to 63 bytes past the file offset's place
/// in a 4 KB page (<see cref="CopyKernels.StringMoveAliases"/>), and 20–40% slower where the two lie at different
/// places in a 64-byte line. Buffers of the caller's choosing start the file's bytes on a line
/// (<see cref="AlignedStart"/>); a weight's array lies wherever the runtime put it, so a read that would alias is
/// staged through a buffer placed like the file offset and copied on with vector moves.
/// </summary>
internal static unsafe class FileReader
{
    /// <summary>Bytes staged per read: a few system calls per megabyte, and in the core's L2 cache when copied on.</summary>
    private const int StageBytes = 256 << 10;

    /// <summary>Below this, an aliasing read costs less than the extra copy.</summary>
    private const int StagedFromBytes = 16 << 10;

    [ThreadStatic] private static byte[]? t_stage;

    /// <summary>
    /// Reads <paramref name="destination"/>'s length from <paramref name="offset"/> on, or until the file ends; returns
    /// how many bytes were read.
    /// </summary>
    public static int Read(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        int done = 0;
        fixed (byte* dst = destination)
        {
            if (destination.Length < StagedFromBytes || !CopyKernels.StringMoveAliases((nint)offset, (nint)dst))
            {
                for (int read; done < destination.Length && (read = RandomAccess.Read(handle, destination[done..], offset + done)) > 0;) done += read;
                return done;
            }
            // Pinned: its place in a line is fixed once chosen.
            byte[] stage = t_stage ??= GC.AllocateUninitializedArray<byte>(StageBytes + 64, pinned: true);
            fixed (byte* start = stage)
            {
                while (done < destination.Length)
                {
                    byte* at = start + ((offset + done - (nint)start) & 63);
                    int read = RandomAccess.Read(handle, new Span<byte>(at, Math.Min(StageBytes, destination.Length - done)), offset + done);
                    if (read == 0) break;
                    CopyKernels.CopyBytes(at, dst + done, read);
                    done += read;
                }
            }
        }
        return done;
    }

    /// <summary>The index of <paramref name="buffer"/> (at least 63 bytes longer than the data) at which bytes read from file offset 0 on start aligned.</summary>
    public static int AlignedStart(byte[] buffer) => (int)(-(nint)Unsafe.AsPointer(ref buffer[0]) & 63);

    /// <summary>A whole file, read into a new buffer where its bytes start on a cache line.</summary>
    public static ReadOnlyMemory<byte> ReadAll(string path)
    {
        using var handle = File.OpenHandle(path);
        long length = RandomAccess.GetLength(handle);
        if (length > Array.MaxLength - 63) throw new IOException($"'{path}' is {length} bytes, more than one array holds.");
        var buffer = GC.AllocateUninitializedArray<byte>((int)length + 63);
        var bytes = buffer.AsMemory(AlignedStart(buffer), (int)length);
        int read = Read(handle, bytes.Span, 0);
        if (read != length) throw new IOException($"'{path}' ended after {read} of {length} bytes while being read.");
        return bytes;
    }
}
