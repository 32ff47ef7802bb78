using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>ONNX Where: y = c ≠ 0 ? a : b, the three operands broadcast to y (numpy rules, right-aligned, rank ≤ 8).</summary>
public static unsafe class SelectKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(float* c, ReadOnlySpan<int> cShape, float* a, ReadOnlySpan<int> aShape, float* b, ReadOnlySpan<int> bShape, float* y, ReadOnlySpan<int> yShape)
    {
        int rank = yShape.Length;
        if (rank > BinaryKernels.MaxRank || cShape.Length > rank || aShape.Length > rank || bShape.Length > rank)
            throw new ArgumentException($"Broadcast ranks must be at most {BinaryKernels.MaxRank} and the inputs no larger than the output.");
        if (rank == 0)
        {
            *y = *c != 0 ? *a : *b;
            return;
        }
        Span<nint> cs = stackalloc nint[rank], @as = stackalloc nint[rank], bs = stackalloc nint[rank];
        Strides(cShape, yShape, cs);
        Strides(aShape, yShape, @as);
        Strides(bShape, yShape, bs);
        int row = yShape[^1];
        long rows = 1;
        for (int d = 0; d < rank - 1; d++) rows *= yShape[d];
        if (row == 0 || rows == 0) return;
        Span<int> index = stackalloc int[rank];
        for (long r = 0; r < rows; r++, y += row)
        {
            nint co = 0, ao = 0, bo = 0;
            for (int d = 0; d < rank - 1; d++) (co, ao, bo) = (co + index[d] * cs[d], ao + index[d] * @as[d], bo + index[d] * bs[d]);
            Row(c + co, cs[^1], a + ao, @as[^1], b + bo, bs[^1], y, row);
            for (int d = rank - 2; d >= 0 && ++index[d] == yShape[d]; d--) index[d] = 0;
        }
    }

    /// <summary>Each dim's step in an operand's memory: 0 where it broadcasts (a dim of 1, or one it lacks).</summary>
    private static void Strides(ReadOnlySpan<int> shape, ReadOnlySpan<int> yShape, Span<nint> strides)
    {
        nint stride = 1;
        for (int d = yShape.Length - 1; d >= 0; d--)
        {
            int k = d - (yShape.Length - shape.Length);
            int dim = k < 0 ? 1 : shape[k];
            strides[d] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
    }

    /// <summary>One output row; each operand's step along it is 1 (contiguous) or 0 (one value repeated).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row(float* c, nint cStep, float* a, nint aStep, float* b, nint bStep, float* y, int length)
    {
        int i = 0;
        if (Avx.IsSupported)
        {
            for (; i <= length - 8; i += 8)
            {
                var cv = cStep != 0 ? Avx.LoadVector256(c + i) : Vector256.Create(*c);
                var av = aStep != 0 ? Avx.LoadVector256(a + i) : Vector256.Create(*a);
                var bv = bStep != 0 ? Avx.LoadVector256(b + i) : Vector256.Create(*b);
                // NaN ≠ 0 is true, as the scalar rule says: the lanes where c is nonzero take a.
                Avx.Store(y + i, Avx.BlendVariable(bv, av, Avx.CompareNotEqual(cv, Vector256<float>.Zero)));
            }
        }
        for (; i < length; i++) y[i] = c[i * cStep] != 0 ? a[i * aStep] : b[i * bStep];
    }
}
