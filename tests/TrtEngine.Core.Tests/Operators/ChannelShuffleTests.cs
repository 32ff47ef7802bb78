using TrtEngine.Native.Layers;
using TrtEngine.Native.Plan;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// The fused channel shuffle (Reshape → Transpose → Reshape, with the Concat before it and channel Slices after it)
/// and channels-last Slice against ONNX Runtime, relative L2 ≤ 1e-5.
/// </summary>
public sealed class ChannelShuffleTests
{
    private static void Ints(OperatorCase c, string name, params long[] values) => c.Model.AddInitializer(name, values, [values.Length]);

    /// <summary>Reshape [N, C, H, W] → [N, g, C/g, H, W], Transpose (0, 2, 1, 3, 4), Reshape back, as torchvision exports it.</summary>
    private static void Shuffle(OperatorCase c, string x, string y, int groups, int channels, int h, int w)
    {
        Ints(c, $"{y}.split", -1, groups, channels / groups, h, w);
        Ints(c, $"{y}.back", -1, channels, h, w);
        c.Model.AddNode("Reshape", [x, $"{y}.split"], [$"{y}.r"]);
        c.Model.AddNode("Transpose", [$"{y}.r"], [$"{y}.t"], ("perm", new long[] { 0, 2, 1, 3, 4 }));
        c.Model.AddNode("Reshape", [$"{y}.t", $"{y}.back"], [y]);
    }

    [Theory]
    [InlineData(26, false)] // 13 channels per group in each half: a vector of 8 and a scalar tail
    [InlineData(32, true)]  // whole vectors; read back from the exported plan
    public void ShuffleNet_block_moves_each_value_once_channels_last(int half, bool roundTrip)
    {
        // concat(x1, branch(x2)) → shuffle → split into halves → branch on the second half → concat → shuffle.
        var c = new OperatorCase { RoundTripPlan = roundTrip }.BatchedInput("x", 2, 3, 9, 7)
            .Weight("wa", half, 3, 3, 3).Weight("wb", half, 3, 1, 1).Weight("wc", half, half, 1, 1);
        c.Model.AddNode("Conv", ["x", "wa"], ["a"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["x", "wb"], ["b"]);
        c.Model.AddNode("Concat", ["a", "b"], ["cat"], ("axis", 1L));
        Shuffle(c, "cat", "s", 2, 2 * half, 9, 7);
        c.Model.Opset = 13;
        Ints(c, "halves", half, half);
        c.Model.AddNode("Split", ["s", "halves"], ["x1", "x2"], ("axis", 1L));
        c.Model.AddNode("Conv", ["x2", "wc"], ["x3"]);
        c.Model.AddNode("Concat", ["x1", "x3"], ["cat2"], ("axis", 1L));
        Shuffle(c, "cat2", "s2", 2, 2 * half, 9, 7);
        c.LeaveRegion("s2", "y");
        c.AssertMatchesOnnxRuntime();

        var layers = c.Plan!.Layers;
        // Two halves of the first shuffle and the whole second one, reading the concats' inputs directly.
        Assert.Equal(3, layers.Count(l => l is ChannelShuffleLayer { ChannelsLast: true, Inputs.Length: 2 }));
        Assert.DoesNotContain(layers, l => l is TransposeLayer or ConcatLayer or SliceLayer or ReshapeLayer);
        Assert.Equal(2, layers.Count(l => l is ReformatLayer)); // at the input and in front of the Mul only
    }

    [Theory]
    [InlineData(3, false)] // three groups: the scalar interleave
    [InlineData(2, true)]
    public void Shuffle_of_one_tensor_runs_channels_last_after_a_convolution(int groups, bool roundTrip)
    {
        var c = new OperatorCase { RoundTripPlan = roundTrip }.Input("x", 2, 4, 6, 5).Weight("w", 6 * groups, 4, 1, 1);
        c.Model.AddNode("Conv", ["x", "w"], ["h"]);
        Shuffle(c, "h", "s", groups, 6 * groups, 6, 5);
        c.LeaveRegion("s", "y");
        c.AssertMatchesOnnxRuntime();
        Assert.Single(c.Plan!.Layers, l => l is ChannelShuffleLayer { ChannelsLast: true, Inputs.Length: 1 });
    }

    [Fact]
    public void A_plan_whose_shuffle_reads_a_weight_is_refused()
    {
        var c = new OperatorCase().Input("x", 1, 4, 3, 3).Weight("w", 8, 4, 1, 1);
        c.Model.AddNode("Conv", ["x", "w"], ["h"]);
        Shuffle(c, "h", "s", 2, 8, 3, 3);
        c.LeaveRegion("s", "y");
        c.AssertMatchesOnnxRuntime();
        c.Plan!.Layers.OfType<ChannelShuffleLayer>().Single().Inputs = [ValueRef.Weight(0)];
        var e = Assert.Throws<PlanFormatException>(() => PlanValidator.Validate(c.Plan!));
        Assert.Contains("reads a weight", e.Message);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Shuffle_and_its_slices_run_on_planar_tensors(int groups)
    {
        // No convolution: everything stays NCHW, and each slice copies whole channel planes.
        var c = new OperatorCase().Input("x", 2, 4 * groups, 3, 5).Output("y0").Output("y1");
        Shuffle(c, "x", "s", groups, 4 * groups, 3, 5);
        c.Model.Opset = 13;
        Ints(c, "sizes", groups, 3 * groups);
        c.Model.AddNode("Split", ["s", "sizes"], ["y0", "y1"], ("axis", 1L));
        c.AssertMatchesOnnxRuntime();
        Assert.Equal(2, c.Plan!.Layers.Count(l => l is ChannelShuffleLayer { ChannelsLast: false }));
        Assert.Equal(2, c.Plan!.Layers.Length);
    }

    [Fact]
    public void Slices_off_group_boundaries_stay_slices_of_the_shuffle()
    {
        var c = new OperatorCase().Input("x", 1, 5, 4, 4).Weight("w", 8, 5, 1, 1);
        c.Model.AddNode("Conv", ["x", "w"], ["h"]);
        Shuffle(c, "h", "s", 2, 8, 4, 4);
        Ints(c, "starts", 1);
        Ints(c, "ends", 6);
        Ints(c, "axes", 1);
        c.Model.AddNode("Slice", ["s", "starts", "ends", "axes"], ["z"]);
        c.LeaveRegion("z", "y");
        c.AssertMatchesOnnxRuntime();
        Assert.Contains(c.Plan!.Layers, l => l is SliceLayer { ChannelsLast: true });
        Assert.Contains(c.Plan!.Layers, l => l is ChannelShuffleLayer { ChannelsLast: true });
    }

    [Theory]
    [InlineData(new long[] { 1, 2 }, new long[] { 8, 7 }, new long[] { 2, 3 }, new long[] { 2, 1 })]      // H and W, step 2 in H
    [InlineData(new long[] { -1, 10 }, new long[] { -100, -100 }, new long[] { 2, 1 }, new long[] { -2, -1 })] // backwards in H and channels
    [InlineData(new long[] { 0, 1 }, new long[] { 1, 3 }, new long[] { 0, 3 }, new long[] { 1, 1 })]      // batch and W
    public void Slice_runs_channels_last_between_convolutions(long[] starts, long[] ends, long[] axes, long[] steps)
    {
        var c = new OperatorCase().Input("x", 2, 3, 9, 8).Weight("w", 11, 3, 3, 3).Weight("w2", 4, 11, 1, 1);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        Ints(c, "starts", starts);
        Ints(c, "ends", ends);
        Ints(c, "axes", axes);
        Ints(c, "steps", steps);
        c.Model.AddNode("Slice", ["h", "starts", "ends", "axes", "steps"], ["z"]);
        c.Model.AddNode("Conv", ["z", "w2"], ["g"]);
        c.LeaveRegion("g", "y");
        c.AssertMatchesOnnxRuntime();
        Assert.Contains(c.Plan!.Layers, l => l is SliceLayer { ChannelsLast: true });
        // Out of the region, and into it unless the first convolution reads the input's planes.
        Assert.Equal(c.Plan!.Layers.OfType<ConvLayer>().First().PlanarInput ? 1 : 2, c.Plan!.Layers.Count(l => l is ReformatLayer));
    }
}
