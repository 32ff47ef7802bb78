using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public unsafe class BinaryKernelsTests
{
    public static TheoryData<int[], int[]> ShapePairs => new()
    {
        { [37], [37] },
        { [3, 19], [3, 19] },
        { [3, 19], [] },
        { [], [5, 9] },
        { [4, 17], [17] },
        { [4, 17], [4, 1] },
        { [1, 17], [6, 1] },
        { [2, 1, 3], [4, 1] },
        { [2, 3, 4, 5], [3, 1, 5] },
        { [2, 3, 4, 5], [1, 3, 4, 1] },
        { [1, 1, 9], [7, 1, 1] },
        { [8, 16], [8, 16] },
        { [3, 0, 2], [1, 2] },
        { [2, 1, 1, 1, 1, 1, 1, 3], [2, 1, 1, 1, 1, 1, 3] },
    };

    [Theory]
    [MemberData(nameof(ShapePairs))]
    public void MatchesBroadcastReference(int[] aShape, int[] bShape)
    {
        int rank = Math.Max(aShape.Length, bShape.Length);
        var yShape = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            int a = Dim(aShape, d, rank), b = Dim(bShape, d, rank);
            yShape[d] = a == 1 ? b : a;
        }
        var aValues = Reference.Random(Count(aShape), seed: 1, 0.5f, 2f);
        var bValues = Reference.Random(Count(bShape), seed: 2, 0.5f, 2f);
        int total = Count(yShape);
        foreach (BinaryOp op in Enum.GetValues<BinaryOp>())
        {
            var y = Reference.Pinned(total);
            fixed (float* pa = aValues, pb = bValues, py = y)
                BinaryKernels.Apply(op, pa, aShape, pb, bShape, py, yShape);
            var expected = new double[total];
            var index = new int[rank];
            for (int i = 0; i < total; i++)
            {
                int rest = i;
                for (int d = rank - 1; d >= 0; d--)
                {
                    index[d] = rest % yShape[d];
                    rest /= yShape[d];
                }
                expected[i] = Expected(op, aValues[Offset(aShape, index)], bValues[Offset(bShape, index)]);
            }
            Assert.True(Reference.RelativeL2(y.AsSpan(0, total), expected) <= 1e-6, $"{op}");
        }
    }

    public static TheoryData<int[], int[]> LargeShapePairs => new()
    {
        { [1, 56, 56, 144], [1, 1, 1, 144] }, // channels-last squeeze-excitation scale: cut along H
        { [2, 24, 60, 60], [2, 24, 1, 1] },
        { [1, 1, 300, 300], [300] },
        { [300, 300], [1] },
        { [7, 3, 1, 5000], [7, 1, 1, 1] },
        { [1, 1, 1, 70000], [70000] }, // only the innermost dimension to cut
        { [5], [3, 40000, 5] },
    };

    [Theory]
    [MemberData(nameof(LargeShapePairs))]
    public void Job_on_two_threads_gives_the_single_thread_result(int[] aShape, int[] bShape)
    {
        int rank = Math.Max(aShape.Length, bShape.Length);
        var yShape = Enumerable.Range(0, rank).Select(d => Dim(aShape, d, rank) == 1 ? Dim(bShape, d, rank) : Dim(aShape, d, rank)).ToArray();
        var aValues = Reference.Random(Count(aShape), seed: 3, 0.5f, 2f);
        var bValues = Reference.Random(Count(bShape), seed: 4, 0.5f, 2f);
        int total = Count(yShape);
        using var pool = new WorkerPool(2);
        var job = new BinaryJob();
        foreach (var op in new[] { BinaryOp.Mul, BinaryOp.Sub })
        {
            var expected = Reference.Pinned(total);
            var y = Reference.Random(total, seed: 5);
            fixed (float* pa = aValues, pb = bValues, pe = expected, py = y)
            {
                BinaryKernels.Apply(op, pa, aShape, pb, bShape, pe, yShape);
                job.Run(op, pa, aShape, pb, bShape, py, yShape, pool);
            }
            Assert.Equal(expected, y);
        }
    }

    [Fact]
    public void MaxAndMinPropagateNaN()
    {
        var a = Reference.Random(16, seed: 1);
        var b = Reference.Random(16, seed: 2);
        a[3] = float.NaN;
        b[9] = float.NaN;
        var y = Reference.Pinned(16);
        foreach (var op in new[] { BinaryOp.Max, BinaryOp.Min })
        {
            fixed (float* pa = a, pb = b, py = y)
                BinaryKernels.Apply(op, pa, [16], pb, [16], py, [16]);
            Assert.True(float.IsNaN(y[3]) && float.IsNaN(y[9]) && !float.IsNaN(y[0]));
        }
    }

    private static double Expected(BinaryOp op, double a, double b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Max => Math.Max(a, b),
        BinaryOp.Min => Math.Min(a, b),
        BinaryOp.Pow => Math.Pow(a, b),
        BinaryOp.Equal => a == b ? 1 : 0,
        BinaryOp.NotEqual => a != b ? 1 : 0,
        BinaryOp.Less => a < b ? 1 : 0,
        BinaryOp.LessOrEqual => a <= b ? 1 : 0,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static int Dim(int[] shape, int d, int rank) => Reference.Dim(shape, d, rank);

    private static int Count(int[] shape) => Reference.Count(shape);

    private static int Offset(int[] shape, int[] index) => Reference.BroadcastOffset(shape, index);
}
