namespace TrtEngine.Native.Kernels;

// TEMP: replaced by the kernels branch.
public static unsafe class BinaryKernels
{
    public static void Apply(BinaryOp op, float* a, ReadOnlySpan<int> aShape, float* b, ReadOnlySpan<int> bShape, float* y, ReadOnlySpan<int> yShape)
    {
        int rank = yShape.Length;
        long total = 1;
        foreach (int d in yShape) total *= d;
        Span<int> idx = stackalloc int[rank];
        for (long i = 0; i < total; i++)
        {
            long r = i;
            for (int d = rank - 1; d >= 0; d--) { idx[d] = (int)(r % yShape[d]); r /= yShape[d]; }
            float va = a[Offset(idx, aShape)], vb = b[Offset(idx, bShape)];
            y[i] = op switch
            {
                BinaryOp.Add => va + vb, BinaryOp.Sub => va - vb, BinaryOp.Mul => va * vb, BinaryOp.Div => va / vb,
                BinaryOp.Max => Math.Max(va, vb), BinaryOp.Min => Math.Min(va, vb), _ => MathF.Pow(va, vb),
            };
        }
    }

    private static long Offset(ReadOnlySpan<int> idx, ReadOnlySpan<int> shape)
    {
        long o = 0;
        int shift = idx.Length - shape.Length;
        for (int d = 0; d < shape.Length; d++) o = o * shape[d] + (shape[d] == 1 ? 0 : idx[d + shift]);
        return o;
    }
}
