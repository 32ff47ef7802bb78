namespace TrtEngine.Native.Kernels;

/// <summary>
/// Operations along one axis of a tensor viewed as [outer, length, inner]: ONNX ArgMax and ArgMin, CumSum, and TopK's
/// indices.
/// </summary>
public static unsafe class AxisKernels
{
    /// <summary>
    /// y[o, i] = the index along the axis of the largest (smallest, <paramref name="min"/>) x[o, ·, i], as a float; the
    /// first such index, or the last (<paramref name="last"/>). A NaN is never chosen over a number (as a comparison with
    /// it is false); an all-NaN run gives 0.
    /// </summary>
    public static void ArgExtreme(float* x, int outer, int length, int inner, bool min, bool last, float* y)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                float* run = x + (long)o * length * inner + i;
                int best = 0;
                float value = run[0];
                for (int k = 1; k < length; k++)
                {
                    float v = run[(long)k * inner];
                    bool better = min ? v < value || last && v == value : v > value || last && v == value;
                    if (better || float.IsNaN(value) && !float.IsNaN(v)) (best, value) = (k, v);
                }
                y[(long)o * inner + i] = best;
            }
    }

    /// <summary>
    /// y[o, k, i] = the sum of x[o, j, i] for j up to k (from the end when <paramref name="reverse"/>), k itself left out
    /// when <paramref name="exclusive"/>; summed in order, in float32, as ONNX Runtime does.
    /// </summary>
    public static void CumSum(float* x, int outer, int length, int inner, bool exclusive, bool reverse, float* y)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                long start = (long)o * length * inner + i;
                float sum = 0;
                for (int step = 0; step < length; step++)
                {
                    long at = start + (long)(reverse ? length - 1 - step : step) * inner;
                    float v = x[at];
                    if (!exclusive) sum += v;
                    y[at] = sum;
                    if (exclusive) sum += v;
                }
            }
    }

    /// <summary>
    /// y[o, j, i] = the index along the axis of x[o, ·, i]'s j-th largest (smallest) value, j &lt; <paramref name="count"/>,
    /// as floats: sorted, equal values by their index (ONNX TopK). NaN ranks as larger than every number, as torch.topk
    /// ranks it: the first of the largest, the last of the smallest. (ONNX leaves it open, and ONNX Runtime's selection
    /// takes some NaNs and not others: of [1, NaN, 3, 2, NaN] its largest three are [NaN, 3, 2].)
    /// </summary>
    public static void TopK(float* x, int outer, int length, int inner, int count, bool largest, float* y)
    {
        int[] order = new int[length];
        float[] run = new float[length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                float* start = x + (long)o * length * inner + i;
                for (int k = 0; k < length; k++) (order[k], run[k]) = (k, start[(long)k * inner]);
                Array.Sort(order, (a, b) =>
                {
                    float u = run[a], v = run[b];
                    int byValue = float.IsNaN(u) || float.IsNaN(v) ? (largest ? float.IsNaN(v).CompareTo(float.IsNaN(u)) : float.IsNaN(u).CompareTo(float.IsNaN(v)))
                        : largest ? v.CompareTo(u) : u.CompareTo(v);
                    return byValue != 0 ? byValue : a.CompareTo(b);
                });
                for (int j = 0; j < count; j++) y[((long)o * count + j) * inner + i] = order[j];
            }
    }
}
