using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

public unsafe class SelectKernelsTests
{
    public static TheoryData<int[], int[], int[]> ShapeTriples => new()
    {
        { [37], [37], [37] },
        { [3, 19], [], [3, 19] },
        { [], [5, 9], [9] },
        { [4, 1], [4, 17], [17] },
        { [1, 17], [6, 1], [] },
        { [2, 1, 3], [4, 1], [1, 4, 3] },
        { [2, 3, 4, 5], [3, 1, 5], [2, 1, 4, 1] },
        { [2, 1, 1, 24], [2, 3, 4, 24], [] },
        { [3, 0, 2], [1, 2], [2] },
        { [2, 1, 1, 1, 1, 1, 1, 3], [2, 1, 1, 1, 1, 1, 3], [3] },
    };

    /// <summary>Each element from the first value where the condition is nonzero (NaN counts), else the second; rows of 1–37 (vector and scalar paths).</summary>
    [Theory]
    [MemberData(nameof(ShapeTriples))]
    public void MatchesBroadcastReference(int[] cShape, int[] aShape, int[] bShape)
    {
        int rank = Math.Max(cShape.Length, Math.Max(aShape.Length, bShape.Length));
        int[][] shapes = [cShape, aShape, bShape];
        // A dim of 0 broadcasts with 1 to 0.
        var yShape = Enumerable.Range(0, rank).Select(d => shapes.Select(s => Reference.Dim(s, d, rank)).ToArray()).Select(dims => dims.Contains(0) ? 0 : dims.Max()).ToArray();
        // Conditions of 0, 1 and NaN (true, as a cast to bool reads it).
        var c = Reference.Random(Reference.Count(cShape), seed: 1).Select(v => v < -0.5f ? float.NaN : v < 0 ? 1f : 0f).ToArray();
        var a = Reference.Random(Reference.Count(aShape), seed: 2);
        var b = Reference.Random(Reference.Count(bShape), seed: 3);
        int total = Reference.Count(yShape);
        var y = Reference.Pinned(total);
        fixed (float* pc = c, pa = a, pb = b, py = y)
            SelectKernels.Apply(pc, cShape, pa, aShape, pb, bShape, py, yShape);
        var index = new int[rank];
        for (int i = 0; i < total; i++)
        {
            for (int d = rank - 1, rest = i; d >= 0; d--)
            {
                index[d] = rest % yShape[d];
                rest /= yShape[d];
            }
            float expected = c[Reference.BroadcastOffset(cShape, index)] != 0 ? a[Reference.BroadcastOffset(aShape, index)] : b[Reference.BroadcastOffset(bShape, index)];
            Assert.Equal(expected, y[i]);
        }
    }
}
