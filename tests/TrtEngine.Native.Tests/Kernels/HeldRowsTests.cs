using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>The rows a fused layer's thread keeps between bands: what it must compute for each band, in any order of strips.</summary>
public unsafe class HeldRowsTests
{
    [Fact]
    public void Walking_down_an_image_computes_each_row_once()
    {
        float* scratch = stackalloc float[8 * 4];
        var held = new HeldRows(scratch, 4, 8);
        Assert.Equal(0, held.Ready(0, 0, 5));
        Assert.Equal(5, held.Ready(0, 3, 8));   // rows 3 and 4 stay
        Assert.Equal(8, held.Ready(0, 7, 12));  // moved to the top to make room
        Assert.Equal((7, 12), (held.Start, held.End));
    }

    [Fact]
    public void A_strip_higher_up_the_image_or_in_another_image_starts_afresh()
    {
        // Home-first claiming lets a thread take strips from the bottom of an image up: the rows above the held ones
        // are computed, not read from before the scratch.
        float* scratch = stackalloc float[8 * 4];
        var held = new HeldRows(scratch, 4, 8);
        Assert.Equal(10, held.Ready(0, 10, 16));
        Assert.Equal(2, held.Ready(0, 2, 9));
        Assert.Equal((2, 9), (held.Start, held.End));
        Assert.True(held.Base + 2 * 4 == scratch);
        Assert.Equal(4, held.Ready(1, 4, 6));
    }
}
