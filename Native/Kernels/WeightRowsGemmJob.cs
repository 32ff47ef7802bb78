using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// y = act(A·Wᵀ + bias) with W the model's own [n, k] weight (a Linear layer's layout): each output is the dot product
/// of a row of A with a row of W, eight rows of W at a time, their partial sums added across lanes by one shuffle tree.
/// The weight needs no packing, so refitting it is a copy. Made for one row of A, where a packed tactic reads the same
/// bytes per call but costs each refit a transpose; more rows run one after another (a packed tile would reuse B from
/// registers: 4 rows by 512×784 take 50 µs here against 30 packed). One instance per layer, one call at a time.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class WeightRowsGemmJob : IParallelTask
{
    private const int BlockRows = 8;

    // Multiply-adds below which one core does it all (as for the packed GEMM: about 2 µs of work).
    private const long ParallelThreshold = 1 << 17;

    private float* _a, _w, _bias, _y;
    private int _m, _n, _k, _blocksPerUnit;
    private bool _wide;
    private Activation _activation;

    /// <summary>
    /// y [m, n] = act(a [m, k] · wᵀ + bias), w being [n, k] row-major and bias null or n floats. <paramref name="wide"/>
    /// picks the 512-bit form (where <see cref="GemmMicroKernels.WideSupported"/>; the 256-bit one runs wherever
    /// <see cref="VectorMath"/> does, 128-bit vectors elsewhere); the forms add the lanes in other orders, so their last
    /// bits may differ.
    /// </summary>
    public void Run(float* a, int m, int k, float* w, int n, float* bias, in Activation activation, float* y, WorkerPool pool, bool wide)
    {
        if (m == 0 || n == 0) return;
        _a = a;
        _w = w;
        _bias = bias;
        _y = y;
        (_m, _k, _n, _activation, _wide) = (m, k, n, activation, wide && GemmMicroKernels.WideSupported);
        int blocks = (n + BlockRows - 1) / BlockRows;
        int units = (long)m * n * k < ParallelThreshold ? 1 : Math.Min(blocks, 4 * pool.ThreadCount);
        _blocksPerUnit = (blocks + units - 1) / units;
        pool.For((blocks + _blocksPerUnit - 1) / _blocksPerUnit, this);
    }

    /// <summary>One unit: a range of blocks of W's rows, against every row of A (the block stays in cache meanwhile).</summary>
    public void Execute(int unit)
    {
        int first = unit * _blocksPerUnit * BlockRows, end = Math.Min(_n, first + _blocksPerUnit * BlockRows);
        for (int j = first; j < end; j += BlockRows)
        {
            int rows = Math.Min(BlockRows, _n - j);
            for (int i = 0; i < _m; i++)
            {
                float* a = _a + (nint)i * _k, w = _w + (nint)j * _k, y = _y + (nint)i * _n + j, bias = _bias is null ? null : _bias + j;
                if (_wide) Block<Vector512<float>, Float512>(a, w, _k, rows, bias, y);
                else if (VectorMath.IsSupported) Block<Vector256<float>, Float256>(a, w, _k, rows, bias, y);
                else Block<Vector128<float>, Float128>(a, w, _k, rows, bias, y);
            }
        }
        ActivationKernels.ApplyRows(_activation, _y + first, _n, _m, end - first);
    }

    /// <summary>Eight outputs (or the last <paramref name="rows"/> &lt; 8): rows of W past the end read the first row again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TV, TF>(float* a, float* w, int k, int rows, float* bias, float* y)
        where TV : struct where TF : IFloatVector<TV>
    {
        float* w0 = w, w1 = Row(w, k, rows, 1), w2 = Row(w, k, rows, 2), w3 = Row(w, k, rows, 3),
            w4 = Row(w, k, rows, 4), w5 = Row(w, k, rows, 5), w6 = Row(w, k, rows, 6), w7 = Row(w, k, rows, 7);
        TV c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        int vectorEnd = k - k % TF.Count;
        for (int p = 0; p < vectorEnd; p += TF.Count)
        {
            TV x = TF.Load(a + p);
            c0 = TF.MultiplyAdd(TF.Load(w0 + p), x, c0);
            c1 = TF.MultiplyAdd(TF.Load(w1 + p), x, c1);
            c2 = TF.MultiplyAdd(TF.Load(w2 + p), x, c2);
            c3 = TF.MultiplyAdd(TF.Load(w3 + p), x, c3);
            c4 = TF.MultiplyAdd(TF.Load(w4 + p), x, c4);
            c5 = TF.MultiplyAdd(TF.Load(w5 + p), x, c5);
            c6 = TF.MultiplyAdd(TF.Load(w6 + p), x, c6);
            c7 = TF.MultiplyAdd(TF.Load(w7 + p), x, c7);
        }
        var sums = TF.SumEach(c0, c1, c2, c3, c4, c5, c6, c7);
        if (vectorEnd == k && bias is null && rows == BlockRows)
        {
            sums.Store(y);
            return;
        }
        float* s = stackalloc float[BlockRows];
        sums.Store(s);
        for (int r = 0; r < rows; r++)
        {
            float* row = w + (nint)r * k;
            for (int p = vectorEnd; p < k; p++) s[r] += a[p] * row[p];
            y[r] = bias is null ? s[r] : s[r] + bias[r];
        }
    }

    private static float* Row(float* w, int k, int rows, int r) => r < rows ? w + (nint)r * k : w;
}
