using TrtEngine.Native.Network;
using TrtEngine.Native.Tests.Kernels;

namespace TrtEngine.Native.Tests.Network;

/// <summary>
/// Folded transposes and slices against an element-by-element walk of the same view: small ones, ones whose planes
/// go through in vector tiles with rows and columns left over, reversed and strided slices, and a rank past the copy
/// kernels' limit (walked one value at a time).
/// </summary>
public sealed class FoldedOpTests
{
    /// <summary>The view's values: element i of <paramref name="shape"/> (row-major) at first + Σ index_d · strides_d.</summary>
    private static float[] Walk(float[] x, long first, long[] strides, int[] shape)
    {
        var y = new float[shape.Aggregate(1L, (a, d) => a * d)];
        for (long i = 0; i < y.Length; i++)
        {
            long at = first, rest = i;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                at += rest % shape[d] * strides[d];
                rest /= shape[d];
            }
            y[i] = x[at];
        }
        return y;
    }

    [Theory]
    [InlineData(new[] { 4, 6 }, new[] { 1, 0 })]
    [InlineData(new[] { 20, 37 }, new[] { 1, 0 })]
    [InlineData(new[] { 3, 197, 64 }, new[] { 0, 2, 1 })]
    [InlineData(new[] { 9, 5, 12 }, new[] { 2, 1, 0 })]
    [InlineData(new[] { 2, 1, 2, 1, 2, 1, 2, 1, 3 }, new[] { 8, 7, 6, 5, 4, 3, 2, 1, 0 })]
    public void A_transpose_gives_the_permuted_view(int[] shape, int[] perm)
    {
        var x = Reference.Random((int)Shapes.ElementCount(shape), seed: 3);
        int[] y = perm.Select(p => shape[p]).ToArray();
        var op = new FoldedOp(FoldedOpKind.Transpose, ["x"], [shape], "y", y, perm);
        op.Validate();
        long[] strides = Shapes.Strides(shape);
        Assert.Equal(Walk(x, 0, perm.Select(p => strides[p]).ToArray(), y), op.Evaluate([x]));
    }

    [Theory]
    [InlineData(new[] { 60, 40 }, new[] { 20, 0, 1, 1, 20, 40 })]              // a third of an in-projection
    [InlineData(new[] { 9, 20, 37 }, new[] { 8, 2, 36, -1, 3, -1, 5, 6, 37 })] // reversed and strided
    [InlineData(new[] { 12 }, new[] { 11, -3, 4 })]
    public void A_slice_gives_its_strided_view(int[] shape, int[] ints)
    {
        var x = Reference.Random((int)Shapes.ElementCount(shape), seed: 4);
        int rank = shape.Length;
        int[] y = ints[(2 * rank)..];
        var op = new FoldedOp(FoldedOpKind.Slice, ["x"], [shape], "y", y, ints);
        op.Validate();
        long[] strides = Shapes.Strides(shape);
        long first = Enumerable.Range(0, rank).Sum(d => ints[d] * strides[d]);
        Assert.Equal(Walk(x, first, Enumerable.Range(0, rank).Select(d => ints[rank + d] * strides[d]).ToArray(), y), op.Evaluate([x]));
    }
}
