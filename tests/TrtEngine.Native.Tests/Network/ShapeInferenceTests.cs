using TrtEngine.Native.Network;

namespace TrtEngine.Native.Tests.Network;

/// <summary>Reshape's inferred −1 where the input has dynamic dims: static where a 0 copies every one of them.</summary>
public sealed class ShapeInferenceTests
{
    private const int D = Shapes.Dynamic;

    [Theory]
    [InlineData(new[] { D, 8, 8, 8 }, new long[] { 0, 8, -1 }, new[] { D, 8, 64 })]
    [InlineData(new[] { D, 8, 8, 8 }, new long[] { 0, -1 }, new[] { D, 512 })]
    [InlineData(new[] { 64, D, 8 }, new long[] { 64, 0, 2, -1 }, new[] { 64, D, 2, 4 })]
    [InlineData(new[] { D, D, 6 }, new long[] { 0, 0, -1, 2 }, new[] { D, D, 3, 2 })]
    // A dynamic dim that no 0 copies leaves the −1 dynamic.
    [InlineData(new[] { D, 8 }, new long[] { -1, 4 }, new[] { D, 4 })]
    [InlineData(new[] { 4, D, 8 }, new long[] { 0, -1 }, new[] { 4, D })]
    public void A_minus_one_beside_copied_dynamic_dims_is_static(int[] input, long[] spec, int[] expected) =>
        Assert.Equal(expected, ShapeInference.Reshape(input, spec, allowZero: false));

    [Fact]
    public void A_minus_one_that_cannot_divide_the_rest_is_refused_even_beside_dynamic_dims() =>
        Assert.Throws<ShapeException>(() => ShapeInference.Reshape([D, 5, 3], [0, 2, -1], allowZero: false));

    /// <summary>With allowzero a 0 is a size, not a copy: nothing cancels.</summary>
    [Fact]
    public void With_allowzero_a_dynamic_input_leaves_the_minus_one_dynamic() =>
        Assert.Equal([D, 8, 0], ShapeInference.Reshape([D, 8, 8, 8], [-1, 8, 0], allowZero: true));

    /// <summary>
    /// A target dim that copies an input dim from another position (attention's [batch · heads, length, width] to
    /// [batch, heads, length, width]): that dim takes the input's, and cancels out of the −1 as a 0 does.
    /// </summary>
    [Theory]
    [InlineData(new[] { D, D, 8 }, new long[] { -1, 2, 1, 8 }, new[] { -1, -1, 1, -1 }, new[] { D, 2, D, 8 })]
    [InlineData(new[] { 6, 5, 8 }, new long[] { -1, 2, 1, 8 }, new[] { -1, -1, 1, -1 }, new[] { 3, 2, 5, 8 })]
    [InlineData(new[] { 4, D, 3 }, new long[] { 1, 3, -1 }, new[] { 1, -1, -1 }, new[] { D, 3, 4 })]
    public void A_dim_copied_from_another_position(int[] input, long[] spec, int[] sources, int[] expected) =>
        Assert.Equal(expected, ShapeInference.Reshape(input, spec, allowZero: false, sources));

    [Fact]
    public void A_dim_copied_twice_is_refused() =>
        Assert.Throws<ShapeException>(() => ShapeInference.Reshape([D, 4], [1, 1, -1], allowZero: false, [0, 0, -1]));
}
