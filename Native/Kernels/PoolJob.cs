using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// MaxPool / AveragePool over NCHW float32 with ONNX Runtime's semantics: padding never wins a max; an average
/// divides by the real input positions, or with count_include_pad by the window positions inside the padded extent
/// (ceil_mode overhang excluded). A window with no real input gives float.MinValue (max) or 0 (average), as ONNX
/// Runtime does. One instance per engine layer, reused for every call; not thread-safe.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class PoolJob : IParallelTask, IRowTask
{
    // The call in progress, read by the workers.
    private float* _x, _y;
    private PoolKind _kind;
    private bool _countIncludePad;
    private Window2D _window;
    private RowSchedule _schedule;

    public void Run(PoolKind kind, float* x, float* y, in Window2D w, bool countIncludePad, WorkerPool pool)
    {
        _kind = kind;
        _x = x;
        _y = y;
        _window = w;
        _countIncludePad = countIncludePad;
        int planes = w.Batch * w.Channels;
        _schedule.Plan(planes, w.OutH, (long)planes * w.OutH * w.OutW * w.KernelH * w.KernelW, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        var w = _window;
        float* x = _x + plane * (nint)w.InH * w.InW;
        float* y = _y + plane * (nint)w.OutH * w.OutW;
        bool vector = VectorMath.IsSupported;
        for (int oh = row0; oh < row1; oh++)
        {
            float* yRow = y + (nint)oh * w.OutW;
            var rows = new WindowRows(w, oh, _countIncludePad);
            if (vector && rows.Valid > 0 && w.StrideW == 1)
                VectorRow<Stride1Loader>(w, x, rows, yRow);
            else if (vector && rows.Valid > 0 && w.StrideW == 2)
                VectorRow<Stride2Loader>(w, x, rows, yRow);
            else
                ScalarRow(w, x, rows, yRow);
        }
    }

    /// <summary>The input rows of one output row: the first, how many are real, and the count_include_pad count.</summary>
    private readonly struct WindowRows
    {
        public readonly int First, Valid, Counted;

        public WindowRows(in Window2D w, int oh, bool countIncludePad)
        {
            First = oh * w.StrideH - w.PadTop;
            for (int i = 0; i < w.KernelH; i++)
                Valid += (uint)(First + i * w.DilationH) < (uint)w.InH ? 1 : 0;
            Counted = countIncludePad ? PaddedCount(First, w.KernelH, w.DilationH, w.InH + w.PadBottom) : Valid;
        }
    }

    /// <summary>Window positions start, start + d, … (kernel of them) that lie below paddedEnd, as ONNX Runtime counts.</summary>
    internal static int PaddedCount(int start, int kernel, int dilation, int paddedEnd)
    {
        int end = Math.Min(start + kernel * dilation, paddedEnd);
        return end <= start ? 0 : 1 + (end - start - 1) / dilation;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void VectorRow<TLoader>(in Window2D w, float* x, in WindowRows rows, float* yRow) where TLoader : struct, IWidthLoader
    {
        if (_kind == PoolKind.Max)
            VectorRow<TLoader, MaxOp>(w, x, rows, _countIncludePad, yRow);
        else
            VectorRow<TLoader, SumOp>(w, x, rows, _countIncludePad, yRow);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VectorRow<TLoader, TOp>(in Window2D w, float* x, in WindowRows rows, bool countIncludePad, float* yRow)
        where TLoader : struct, IWidthLoader where TOp : struct, IPoolOp
    {
        int stride = TLoader.Stride, outW = w.OutW, inW = w.InW, kw = w.KernelW, dw = w.DilationW;
        int firstInside = Math.Min(outW, (w.PadLeft + stride - 1) / stride);
        int lastRead = -w.PadLeft + (kw - 1) * dw + TLoader.ReadSpan - 1;
        // Inside blocks see all kw columns, so they share one divisor.
        var divisor = Vector256.Create((float)(rows.Counted * kw));
        int ow = 0;
        while (ow < outW)
        {
            if (ow >= firstInside && ow + 8 <= outW && ow * stride + lastRead < inW)
            {
                var result = Vector256.Create(TOp.Identity);
                var nan = Vector256<float>.Zero;
                for (int i = 0; i < w.KernelH; i++)
                {
                    int ih = rows.First + i * w.DilationH;
                    if ((uint)ih >= (uint)w.InH)
                        continue;
                    float* input = x + (nint)ih * inW + (nint)ow * stride - w.PadLeft;
                    for (int j = 0; j < kw; j++)
                    {
                        var value = TLoader.Load(input + j * dw);
                        result = TOp.Combine(result, value);
                        nan = TOp.MarkNaN(nan, value);
                    }
                }
                Avx.Store(yRow + ow, TOp.Finish(TLoader.Order(Avx.Or(result, nan)), divisor));
                ow += 8;
            }
            else
            {
                int count = Math.Min(8, (ow < firstInside ? firstInside : outW) - ow);
                Edge<TLoader, TOp>(w, x, rows, countIncludePad, yRow, ow, count);
                ow += count;
            }
        }
    }

    /// <summary>A block of ≤ 8 outputs at the row's edges: masked loads, per-lane divisors, empty windows fixed up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Edge<TLoader, TOp>(in Window2D w, float* x, in WindowRows rows, bool countIncludePad, float* yRow,
        int ow, int count) where TLoader : struct, IWidthLoader where TOp : struct, IPoolOp
    {
        int kw = w.KernelW, iw0 = ow * TLoader.Stride - w.PadLeft;
        var result = Vector256.Create(TOp.Identity);
        var nan = Vector256<float>.Zero;
        for (int i = 0; i < w.KernelH; i++)
        {
            int ih = rows.First + i * w.DilationH;
            if ((uint)ih >= (uint)w.InH)
                continue;
            float* row = x + (nint)ih * w.InW;
            for (int j = 0; j < kw; j++)
            {
                var input = Avx.BlendVariable(Vector256.Create(TOp.Identity), TLoader.LoadMasked(row, iw0 + j * w.DilationW, w.InW, out var valid), valid);
                result = TOp.Combine(result, input);
                nan = TOp.MarkNaN(nan, input);
            }
        }
        result = Avx.Or(result, nan);

        float* divisors = stackalloc float[8];
        int* columns = stackalloc int[8];
        for (int lane = 0; lane < 8; lane++)
        {
            int start = (ow + lane) * w.StrideW - w.PadLeft;
            columns[lane] = Columns(w, start);
            int counted = countIncludePad ? PaddedCount(start, kw, w.DilationW, w.InW + w.PadRight) : columns[lane];
            divisors[lane] = rows.Counted * counted;
        }
        float* values = stackalloc float[8];
        Avx.Store(values, TOp.Finish(TLoader.Order(result), Avx.LoadVector256(divisors)));
        for (int lane = 0; lane < count; lane++)
            yRow[ow + lane] = columns[lane] == 0 ? TOp.Empty : values[lane];
    }

    /// <summary>How many of a window's columns, starting at input column <paramref name="start"/>, are real.</summary>
    private static int Columns(in Window2D w, int start)
    {
        int count = 0;
        for (int j = 0; j < w.KernelW; j++)
            count += (uint)(start + j * w.DilationW) < (uint)w.InW ? 1 : 0;
        return count;
    }

    /// <summary>The fallback for any stride, for rows with no real input, and for machines without AVX2/FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScalarRow(in Window2D w, float* x, in WindowRows rows, float* yRow)
    {
        bool max = _kind == PoolKind.Max;
        for (int ow = 0; ow < w.OutW; ow++)
        {
            int iw0 = ow * w.StrideW - w.PadLeft;
            int columns = Columns(w, iw0);
            if (rows.Valid == 0 || columns == 0)
            {
                yRow[ow] = max ? float.MinValue : 0f;
                continue;
            }
            float result = max ? float.NegativeInfinity : 0f;
            for (int i = 0; i < w.KernelH; i++)
            {
                int ih = rows.First + i * w.DilationH;
                if ((uint)ih >= (uint)w.InH)
                    continue;
                for (int j = 0; j < w.KernelW; j++)
                {
                    int iw = iw0 + j * w.DilationW;
                    if ((uint)iw >= (uint)w.InW)
                        continue;
                    float value = x[(nint)ih * w.InW + iw];
                    result = max ? MathF.Max(result, value) : result + value;
                }
            }
            if (!max)
            {
                int counted = _countIncludePad ? PaddedCount(iw0, w.KernelW, w.DilationW, w.InW + w.PadRight) : columns;
                result /= rows.Counted * counted;
            }
            yRow[ow] = result;
        }
    }

    private interface IPoolOp
    {
        static abstract float Identity { get; }

        /// <summary>What a window with no real input gives.</summary>
        static abstract float Empty { get; }

        static abstract Vector256<float> Combine(Vector256<float> accumulated, Vector256<float> value);

        /// <summary>Adds all-ones (a NaN) to <paramref name="nan"/> where a max's value is NaN; a sum keeps it zero (its NaN is in the sum).</summary>
        static abstract Vector256<float> MarkNaN(Vector256<float> nan, Vector256<float> value);

        static abstract Vector256<float> Finish(Vector256<float> accumulated, Vector256<float> divisor);
    }

    private readonly struct MaxOp : IPoolOp
    {
        public static float Identity => float.NegativeInfinity;

        public static float Empty => float.MinValue;

        // The max of the window's other values (the instruction returns its second operand, the accumulator, where the
        // value is NaN, so the accumulator is never NaN); the NaNs are marked apart and OR'd in at the end, off the
        // accumulator's dependency chain (a blend on it made the pool half again as slow).
        public static Vector256<float> Combine(Vector256<float> accumulated, Vector256<float> value) => Avx.Max(value, accumulated);

        public static Vector256<float> MarkNaN(Vector256<float> nan, Vector256<float> value) => Avx.Or(nan, Avx.CompareUnordered(value, value));

        public static Vector256<float> Finish(Vector256<float> accumulated, Vector256<float> divisor) => accumulated;
    }

    private readonly struct SumOp : IPoolOp
    {
        public static float Identity => 0f;

        public static float Empty => 0f;

        public static Vector256<float> Combine(Vector256<float> accumulated, Vector256<float> value) => Avx.Add(accumulated, value);

        public static Vector256<float> MarkNaN(Vector256<float> nan, Vector256<float> value) => nan;

        public static Vector256<float> Finish(Vector256<float> accumulated, Vector256<float> divisor) => Avx.Divide(accumulated, divisor);
    }
}
