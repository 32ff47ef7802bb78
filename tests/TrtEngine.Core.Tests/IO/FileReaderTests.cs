using TrtEngine.Core.IO;
using TrtEngine.Native.Kernels;

namespace TrtEngine.Core.Tests.IO;

/// <summary>
/// File ranges read straight into the destination or, where the kernel's copy would alias, through the staging buffer:
/// the same bytes either way, at any offset and length, stopping where the file ends.
/// </summary>
public sealed unsafe class FileReaderTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly byte[] _content;
    private readonly string _path;

    public FileReaderTests()
    {
        // A little over three staging buffers, so a staged read takes several turns and ends with a partial one.
        _content = new byte[(3 << 18) + 4321];
        new Random(11).NextBytes(_content);
        _path = _directory.File("data.bin");
        File.WriteAllBytes(_path, _content);
    }

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(0, 100)]
    [InlineData(0, 16 << 10)]
    [InlineData(12, 300_000)]
    [InlineData(4099, (3 << 18) + 4321 - 4099)]
    public void Every_placement_of_the_destination_reads_the_same_bytes(long offset, int length)
    {
        // Destinations 0 to 100 bytes past the offset's place in a page: aliasing (staged, from 16 KB on) and not.
        var buffer = GC.AllocateUninitializedArray<byte>(length + 8192, pinned: true);
        using var handle = File.OpenHandle(_path);
        fixed (byte* b0 = buffer)
            foreach (int distance in new[] { 0, 1, 4, 8, 32, 63, 64, 100 })
            {
                byte* dst = (byte*)(((nint)b0 + 4095) & ~(nint)4095) + (int)(offset & 4095) + distance;
                Assert.Equal(distance is >= 1 and <= 63, CopyKernels.StringMoveAliases((nint)offset, (nint)dst));
                var destination = new Span<byte>(dst, length);
                destination.Clear();
                Assert.Equal(length, FileReader.Read(handle, destination, offset));
                Assert.True(destination.SequenceEqual(_content.AsSpan((int)offset, length)), $"{length} bytes from {offset}, {distance} past");
            }
    }

    [Fact]
    public void A_read_past_the_end_returns_what_the_file_held()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(300_000 + 8192, pinned: true);
        using var handle = File.OpenHandle(_path);
        long offset = _content.Length - 200_000;
        fixed (byte* b0 = buffer)
        {
            // An aliasing placement: the staged path meets the end too.
            byte* dst = (byte*)(((nint)b0 + 4095) & ~(nint)4095) + (int)(offset & 4095) + 8;
            Assert.Equal(200_000, FileReader.Read(handle, new Span<byte>(dst, 300_000), offset));
            Assert.True(new Span<byte>(dst, 200_000).SequenceEqual(_content.AsSpan((int)offset)));
        }
        Assert.Equal(0, FileReader.Read(handle, buffer, _content.Length));
    }

    [Fact]
    public void A_whole_file_starts_on_a_cache_line_and_a_missing_one_is_reported()
    {
        var bytes = FileReader.ReadAll(_path);
        Assert.True(bytes.Span.SequenceEqual(_content));
        // Large enough for the large-object heap, which does not move it.
        fixed (byte* start = bytes.Span) Assert.Equal(0, (nint)start & 63);
        File.WriteAllBytes(_directory.File("empty.bin"), []);
        Assert.Equal(0, FileReader.ReadAll(_directory.File("empty.bin")).Length);
        Assert.Throws<FileNotFoundException>(() => FileReader.ReadAll(_directory.File("missing.bin")));
    }
}
