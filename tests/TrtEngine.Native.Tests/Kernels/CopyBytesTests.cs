using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>
/// The bulk copy that steers clear of string moves that alias: every byte copied and none written outside the
/// destination, on the memmove path and on the vector path (destinations 1 to 63 bytes past the source's place in a
/// 4 KB page), at lengths around the vector steps and the string-move threshold.
/// </summary>
public sealed unsafe class CopyBytesTests
{
    public static TheoryData<int> Lengths => new(0, 1, 31, 4095, 4096, 4097, 4127, 4160, 65_536 + 13, 300_001);

    // Destination distances past the source's page offset: both paths, the aliasing window's ends and its middle.
    public static TheoryData<int> Distances => new(0, 1, 4, 8, 31, 32, 63, 64, 100, 2048, 4095);

    [Fact]
    public void Aliasing_is_a_destination_1_to_63_bytes_past_the_sources_page_offset()
    {
        foreach (nint source in new nint[] { 0, 4096 * 7, 4096 * 7 + 100, 4095 })
            for (int distance = -100; distance < 4196; distance++)
            {
                int past = ((distance % 4096) + 4096) % 4096;
                Assert.Equal(past is >= 1 and <= 63, CopyKernels.StringMoveAliases(source, source + distance));
            }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Every_distance_copies_exactly_the_bytes_asked_for(int length)
    {
        foreach (int distance in Distances)
            Copy(length, distance);
    }

    private static void Copy(int length, int distance)
    {
        // Source at a page's start plus 12 (off its line); the destination `distance` bytes past that place in a page.
        var rnd = new Random(length * 31 + distance);
        var source = GC.AllocateUninitializedArray<byte>(length + 8192, pinned: true);
        var target = GC.AllocateUninitializedArray<byte>(length + 8192 + 128, pinned: true);
        rnd.NextBytes(source);
        target.AsSpan().Fill(0xA5);
        fixed (byte* s0 = source, t0 = target)
        {
            byte* src = (byte*)(((nint)s0 + 4095) & ~(nint)4095) + 12;
            byte* dst = (byte*)(((nint)t0 + 64 + 4095) & ~(nint)4095) + 12 + distance;
            Assert.Equal(distance is >= 1 and <= 63, CopyKernels.StringMoveAliases((nint)src, (nint)dst));
            CopyKernels.CopyBytes(src, dst, length);
            Assert.True(new ReadOnlySpan<byte>(src, length).SequenceEqual(new ReadOnlySpan<byte>(dst, length)), $"{length} bytes, {distance} past");
            int before = (int)(dst - t0), after = before + length;
            Assert.True(target.AsSpan(0, before).IndexOfAnyExcept((byte)0xA5) < 0, $"written before the destination ({length} bytes, {distance} past)");
            Assert.True(target.AsSpan(after).IndexOfAnyExcept((byte)0xA5) < 0, $"written past the destination ({length} bytes, {distance} past)");
        }
    }

    [Fact]
    public void Overlapping_ranges_move_as_memmove_moves_them()
    {
        // 8 bytes apart, in the aliasing window either way round: left to memmove, which handles the overlap.
        var buffer = GC.AllocateUninitializedArray<byte>(70_000, pinned: true);
        foreach (int shift in new[] { 8, -8 })
        {
            new Random(3).NextBytes(buffer);
            var expected = (byte[])buffer.Clone();
            Array.Copy(expected, 100, expected, 100 + shift, 60_000);
            fixed (byte* b = buffer) CopyKernels.CopyBytes(b + 100, b + 100 + shift, 60_000);
            Assert.Equal(expected, buffer);
        }
    }

    [Fact]
    public void Float_spans_copy_and_a_short_destination_is_refused()
    {
        var source = Reference.Random(5000, seed: 7);
        var target = new float[5003];
        CopyKernels.CopyFloats(source, target);
        Assert.Equal(source, target[..5000]);
        Assert.Equal(0f, target[5000]);
        Assert.Throws<ArgumentException>(() => CopyKernels.CopyFloats(source, new float[4999]));
    }
}
