using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>Element-wise binary operations with numpy/ONNX multidirectional broadcasting.</summary>
public static unsafe class BinaryKernels
{
    internal const int MaxRank = 8;

    /// <summary>
    /// y = a op b. <paramref name="yShape"/> must be the broadcast of the two input shapes (right-aligned, ranks may
    /// differ, rank ≤ 8). Max and Min propagate NaN from either side; Pow follows <see cref="MathF.Pow"/>; a comparison
    /// with NaN is false, except NotEqual's (as in C).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(BinaryOp op, float* a, ReadOnlySpan<int> aShape, float* b, ReadOnlySpan<int> bShape, float* y, ReadOnlySpan<int> yShape)
    {
        if (yShape.Length > MaxRank || aShape.Length > yShape.Length || bShape.Length > yShape.Length)
            throw new ArgumentException($"Broadcast ranks must be at most {MaxRank} and the inputs no larger than the output.");
        switch (op)
        {
            case BinaryOp.Add: Apply<AddOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.Sub: Apply<SubOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.Mul: Apply<MulOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.Div: Apply<DivOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.Max: Apply<MaxOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.Min: Apply<MinOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.Pow: Apply<PowOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.Equal: Apply<EqualOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.NotEqual: Apply<NotEqualOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.Less: Apply<LessOp>(a, aShape, b, bShape, y, yShape); break;
            case BinaryOp.LessOrEqual: Apply<LessOrEqualOp>(a, aShape, b, bShape, y, yShape); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown binary operation.");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Apply<TOp>(float* a, ReadOnlySpan<int> aShape, float* b, ReadOnlySpan<int> bShape, float* y, ReadOnlySpan<int> yShape)
        where TOp : struct, IBinaryOp
    {
        // Collapse the problem to the fewest dims: drop size-1 output dims and merge neighbours that are
        // contiguous (or broadcast) in both inputs. Dims are collected innermost first.
        nint* dims = stackalloc nint[MaxRank];
        nint* aStrides = stackalloc nint[MaxRank];
        nint* bStrides = stackalloc nint[MaxRank];
        int rank = 0;
        nint aStride = 1, bStride = 1;
        for (int d = yShape.Length - 1; d >= 0; d--)
        {
            int size = yShape[d];
            if (size == 0)
                return;
            int aDim = InputDim(aShape, d, yShape.Length);
            int bDim = InputDim(bShape, d, yShape.Length);
            nint aStep = aDim == 1 ? 0 : aStride;
            nint bStep = bDim == 1 ? 0 : bStride;
            aStride *= aDim;
            bStride *= bDim;
            if (size == 1)
                continue;
            if (rank > 0 && aStep == aStrides[rank - 1] * dims[rank - 1] && bStep == bStrides[rank - 1] * dims[rank - 1])
            {
                dims[rank - 1] *= size;
                continue;
            }
            dims[rank] = size;
            aStrides[rank] = aStep;
            bStrides[rank] = bStep;
            rank++;
        }

        if (rank == 0)
        {
            *y = default(TOp).Apply(*a, *b);
            return;
        }

        // Walk the outer dims with an odometer; the innermost dim is one contiguous or broadcast row.
        nint* index = stackalloc nint[MaxRank];
        for (int d = 0; d < rank; d++)
            index[d] = 0;
        nint rowLength = dims[0];
        bool aRow = aStrides[0] != 0, bRow = bStrides[0] != 0;
        while (true)
        {
            Row<TOp>(a, aRow, b, bRow, y, rowLength);
            y += rowLength;
            int d = 1;
            for (; d < rank; d++)
            {
                a += aStrides[d];
                b += bStrides[d];
                if (++index[d] < dims[d])
                    break;
                a -= aStrides[d] * dims[d];
                b -= bStrides[d] * dims[d];
                index[d] = 0;
            }
            if (d == rank)
                return;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int InputDim(ReadOnlySpan<int> shape, int outputDim, int outputRank)
    {
        int d = outputDim - (outputRank - shape.Length);
        return d < 0 ? 1 : shape[d];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row<TOp>(float* a, bool aRow, float* b, bool bRow, float* y, nint length) where TOp : struct, IBinaryOp
    {
        var op = default(TOp);
        nint i = 0;
        if (VectorMath.IsSupported)
        {
            var aScalar = Vector256.Create(*a);
            var bScalar = Vector256.Create(*b);
            for (; i <= length - 8; i += 8)
            {
                var av = aRow ? Avx.LoadVector256(a + i) : aScalar;
                var bv = bRow ? Avx.LoadVector256(b + i) : bScalar;
                Avx.Store(y + i, op.Apply(av, bv));
            }
        }
        for (; i < length; i++)
            y[i] = op.Apply(aRow ? a[i] : *a, bRow ? b[i] : *b);
    }

    private interface IBinaryOp
    {
        float Apply(float a, float b);

        Vector256<float> Apply(Vector256<float> a, Vector256<float> b);
    }

    private readonly struct AddOp : IBinaryOp
    {
        public float Apply(float a, float b) => a + b;

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Avx.Add(a, b);
    }

    private readonly struct SubOp : IBinaryOp
    {
        public float Apply(float a, float b) => a - b;

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Avx.Subtract(a, b);
    }

    private readonly struct MulOp : IBinaryOp
    {
        public float Apply(float a, float b) => a * b;

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Avx.Multiply(a, b);
    }

    private readonly struct DivOp : IBinaryOp
    {
        public float Apply(float a, float b) => a / b;

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Avx.Divide(a, b);
    }

    private readonly struct MaxOp : IBinaryOp
    {
        public float Apply(float a, float b) => MathF.Max(a, b);

        // maxps returns b when either is NaN; a NaN in a is restored afterwards.
        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => VectorMath.KeepNaN(a, Avx.Max(a, b));
    }

    private readonly struct MinOp : IBinaryOp
    {
        public float Apply(float a, float b) => MathF.Min(a, b);

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => VectorMath.KeepNaN(a, Avx.Min(a, b));
    }

    private readonly struct PowOp : IBinaryOp
    {
        public float Apply(float a, float b) => MathF.Pow(a, b);

        // No vector pow: exact special-case handling (negative bases, integer exponents) matters more here.
        [MethodImpl(MethodImplOptions.NoInlining)]
        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b)
        {
            var result = Vector256<float>.Zero;
            for (int i = 0; i < 8; i++)
                result = result.WithElement(i, MathF.Pow(a.GetElement(i), b.GetElement(i)));
            return result;
        }
    }

    // A comparison's lanes are all ones where true: kept as 1f, cleared to 0f.
    private readonly struct EqualOp : IBinaryOp
    {
        public float Apply(float a, float b) => a == b ? 1f : 0f;

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Avx.And(Avx.CompareEqual(a, b), Vector256<float>.One);
    }

    private readonly struct NotEqualOp : IBinaryOp
    {
        public float Apply(float a, float b) => a != b ? 1f : 0f;

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Avx.And(Avx.CompareNotEqual(a, b), Vector256<float>.One);
    }

    private readonly struct LessOp : IBinaryOp
    {
        public float Apply(float a, float b) => a < b ? 1f : 0f;

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Avx.And(Avx.CompareLessThan(a, b), Vector256<float>.One);
    }

    private readonly struct LessOrEqualOp : IBinaryOp
    {
        public float Apply(float a, float b) => a <= b ? 1f : 0f;

        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Avx.And(Avx.CompareLessThanOrEqual(a, b), Vector256<float>.One);
    }
}
