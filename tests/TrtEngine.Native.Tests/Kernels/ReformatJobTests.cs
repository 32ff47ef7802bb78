using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class ReformatJobTests
{
    [Theory]
    [InlineData(1, 3, 224 * 224)] // a network's input: few channels, many tiles shared out
    [InlineData(3, 17, 65)]       // a partial last tile
    [InlineData(2, 64, 7)]        // less than one tile per image
    [InlineData(2, 3, 13 * 11)]   // three planes, interleaved eight pixels at a time, with a partial group and tile
    public void Round_trip_moves_every_value_to_its_place(int batch, int channels, int pixels)
    {
        var nchw = Reference.Random(batch * channels * pixels, seed: 7);
        var nhwc = Reference.Pinned(nchw.Length);
        var back = Reference.Pinned(nchw.Length);
        using var pool = new WorkerPool(2);
        var job = new ReformatJob();
        fixed (float* px = nchw, py = nhwc, pb = back)
        {
            job.Reformat(px, py, batch, channels, pixels, toChannelsLast: true, pool);
            job.Reformat(py, pb, batch, channels, pixels, toChannelsLast: false, pool);
        }
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
                for (int p = 0; p < pixels; p++)
                    Assert.Equal(nchw[(n * channels + c) * pixels + p], nhwc[(n * pixels + p) * channels + c]);
        Assert.Equal(nchw, back);
    }
}
