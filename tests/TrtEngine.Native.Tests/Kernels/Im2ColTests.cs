using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class Im2ColTests
{
    [Fact]
    public void MatchesNaiveGather()
    {
        int variant = 0;
        // Random geometries, then stride-2 rows wide enough for the vector copy, with its scalar tails.
        var wide = new[] { 16, 17, 23, 33, 40, 57 }.SelectMany(size => new[]
        {
            WindowCases.Square(channels: 2, size, kernel: 3, stride: 2, pad: 1),
            WindowCases.Square(channels: 2, size, kernel: 3, stride: 2, pad: 0),
            WindowCases.Square(channels: 2, size, kernel: 5, stride: 2, pad: 2),
        });
        foreach (var geometry in WindowCases.Random(seed: 37, count: 300, maxChannels: 6).Concat(wide))
        {
            // One image, one group of a grouped convolution: x starts at the group's first channel.
            var w = geometry with { Batch = 1 };
            int groups = ++variant % 2 + 1, channelsPerGroup = Math.Max(1, w.Channels / groups), group = groups - 1;
            var x = Reference.Random(WindowCases.InputLength(w with { Channels = channelsPerGroup * groups }), variant);
            int rows = channelsPerGroup * w.KernelH * w.KernelW, columns = w.OutH * w.OutW;
            var col = Reference.Random(rows * columns + 1, variant + 1);
            float guard = col[rows * columns];
            fixed (float* px = x, pc = col)
                Im2Col.Run(px + group * channelsPerGroup * w.InH * w.InW, channelsPerGroup, w, pc);

            for (int ci = 0; ci < channelsPerGroup; ci++)
            for (int i = 0; i < w.KernelH; i++)
            for (int j = 0; j < w.KernelW; j++)
            for (int oh = 0; oh < w.OutH; oh++)
            for (int ow = 0; ow < w.OutW; ow++)
            {
                float expected = WindowCases.At(x, w, group * channelsPerGroup + ci,
                    oh * w.StrideH - w.PadTop + i * w.DilationH, ow * w.StrideW - w.PadLeft + j * w.DilationW) ?? 0f;
                Assert.Equal(expected, col[((ci * w.KernelH + i) * w.KernelW + j) * columns + oh * w.OutW + ow]);
            }
            Assert.Equal(guard, col[rows * columns]);
        }
    }

    [Fact]
    public void Channels_last_matches_naive_gather()
    {
        // 1..19 channels: runs of one tap and of a kernel row shorter than, equal to and longer than one vector.
        int variant = 0;
        foreach (var geometry in WindowCases.Random(seed: 41, count: 300, maxChannels: 19))
        {
            var w = geometry with { Batch = 1 };
            int c = w.Channels, rowLength = w.KernelH * w.KernelW * c, rows = w.OutH * w.OutW;
            var x = Reference.Random(WindowCases.InputLength(w), ++variant);
            var col = Reference.Random(rows * rowLength + 1, variant + 1);
            float guard = col[rows * rowLength];
            // Two calls, as two workers would split the output pixels (mid-row when the rows are odd).
            int split = rows / 2;
            fixed (float* px = x, pc = col)
            {
                Im2Col.RunChannelsLast(px, c, w, pc, 0, split);
                Im2Col.RunChannelsLast(px, c, w, pc + (nint)split * rowLength, split, rows);
            }

            for (int oh = 0; oh < w.OutH; oh++)
            for (int ow = 0; ow < w.OutW; ow++)
            for (int i = 0; i < w.KernelH; i++)
            for (int j = 0; j < w.KernelW; j++)
            for (int ch = 0; ch < c; ch++)
            {
                int ih = oh * w.StrideH - w.PadTop + i * w.DilationH, iw = ow * w.StrideW - w.PadLeft + j * w.DilationW;
                float expected = (uint)ih < (uint)w.InH && (uint)iw < (uint)w.InW ? x[(ih * w.InW + iw) * c + ch] : 0f;
                Assert.Equal(expected, col[(oh * w.OutW + ow) * rowLength + (i * w.KernelW + j) * c + ch]);
            }
            Assert.Equal(guard, col[rows * rowLength]);
        }
    }
}
