using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// One direction of an ONNX LSTM or GRU over a sequence [steps, batch, input], with the default activations (sigmoid
/// for the gates, tanh for the candidate and the output, by the engine's vectorized activations). The input's part of
/// every gate is projected for all steps at once, then each step adds the state's part; both as dot products of a
/// weight row with up to four batch rows at a time (the row read once for the four).
/// </summary>
public static unsafe class RecurrentKernels
{
    /// <summary>Scratch floats a direction needs: the projections, the gates, and the GRU's reset state and candidate.</summary>
    public static long ScratchLength(int steps, int batch, int hidden, int gates) => ((long)steps * batch + batch) * gates * hidden + 2L * batch * hidden;

    /// <summary>
    /// Runs the LSTM (gates i, o, f, c) over the steps (backwards when <paramref name="reverse"/>). w: [4H, I], r:
    /// [4H, H], bias: [8H] (Wb then Rb) or null; h and c [N, H] hold the initial states and end as the final ones. y (or
    /// null) receives step t's hidden state of batch row n at y + t · <paramref name="yStep"/> + n · H.
    /// </summary>
    public static void Lstm(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, float* h, float* c,
        float* y, long yStep, bool reverse, float* scratch)
    {
        int width = 4 * hidden;
        float* projected = scratch, gates = scratch + (long)steps * batch * width, squashed = gates + (long)batch * width;
        Project(x, (long)steps * batch, input, w, width, bias, width, 0, projected);
        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            Recurrent(r, width, h, batch, hidden, projected + (long)t * batch * width, gates);
            // i, o and f through the sigmoid, the candidate through tanh, every batch row at once (vectorized).
            ActivationKernels.ApplyRows(SigmoidActivation, gates, width, batch, 3 * hidden);
            ActivationKernels.ApplyRows(TanhActivation, gates + 3 * hidden, width, batch, hidden);
            for (int n = 0; n < batch; n++)
            {
                float* g = gates + (long)n * width, cn = c + (long)n * hidden;
                for (int j = 0; j < hidden; j++) cn[j] = g[2 * hidden + j] * cn[j] + g[j] * g[3 * hidden + j];
            }
            ActivationKernels.Apply(TanhActivation, c, squashed, (nint)batch * hidden);
            for (int n = 0; n < batch; n++)
            {
                float* g = gates + (long)n * width, hn = h + (long)n * hidden, sn = squashed + (long)n * hidden;
                for (int j = 0; j < hidden; j++) hn[j] = g[hidden + j] * sn[j];
            }
            if (y != null) new ReadOnlySpan<float>(h, batch * hidden).CopyTo(new Span<float>(y + t * yStep, batch * hidden));
        }
    }

    /// <summary>
    /// Runs the GRU (gates z, r, h): w: [3H, I], r: [3H, H], bias: [6H] or null; h [N, H] holds the initial state and
    /// ends as the final one. With <paramref name="linearBeforeReset"/> the reset gate scales R_h·h + Rb_h (torch's form);
    /// without, R_h is applied to the reset state.
    /// </summary>
    public static void Gru(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, float* h, float* y, long yStep,
        bool reverse, bool linearBeforeReset, float* scratch)
    {
        int width = 3 * hidden;
        float* projected = scratch, gates = scratch + (long)steps * batch * width, reset = gates + (long)batch * width, candidate = reset + (long)batch * hidden;
        // Rb of z and r joins the projection; Rb_h stays apart (it is inside the reset).
        Project(x, (long)steps * batch, input, w, width, bias, width, 2 * hidden, projected);
        float* rbh = bias == null ? null : bias + width + 2 * hidden;
        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            float* p = projected + (long)t * batch * width;
            // z and r (with R_h·h too where the reset scales it) from the state, then through the sigmoid.
            Recurrent(r, linearBeforeReset ? width : 2 * hidden, h, batch, hidden, p, gates, width);
            ActivationKernels.ApplyRows(SigmoidActivation, gates, width, batch, 2 * hidden);
            for (int n = 0; n < batch; n++)
            {
                float* g = gates + (long)n * width, hn = h + (long)n * hidden, rn = reset + (long)n * hidden, cn = candidate + (long)n * hidden, pn = p + (long)n * width;
                for (int j = 0; j < hidden; j++)
                {
                    float rbhj = rbh == null ? 0 : rbh[j];
                    // The candidate's sum before tanh: Wh·x + Wbh + r ⊙ (R_h·h + Rb_h); without linear_before_reset, R_h·(r ⊙ h) follows.
                    if (linearBeforeReset) cn[j] = pn[2 * hidden + j] + g[hidden + j] * (g[2 * hidden + j] - pn[2 * hidden + j] + rbhj);
                    else rn[j] = g[hidden + j] * hn[j];
                }
            }
            if (!linearBeforeReset)
            {
                Recurrent(r + (long)2 * hidden * hidden, hidden, reset, batch, hidden, null, candidate, hidden);
                for (int n = 0; n < batch; n++)
                    for (int j = 0; j < hidden; j++) candidate[(long)n * hidden + j] += p[(long)n * width + 2 * hidden + j] + (rbh == null ? 0 : rbh[j]);
            }
            ActivationKernels.Apply(TanhActivation, candidate, candidate, (nint)batch * hidden);
            for (int n = 0; n < batch; n++)
            {
                float* g = gates + (long)n * width, hn = h + (long)n * hidden, cn = candidate + (long)n * hidden;
                for (int j = 0; j < hidden; j++) hn[j] = (1 - g[j]) * cn[j] + g[j] * hn[j];
            }
            if (y != null) new ReadOnlySpan<float>(h, batch * hidden).CopyTo(new Span<float>(y + t * yStep, batch * hidden));
        }
    }

    /// <summary>
    /// p[row, g] = W[g] · x[row] + Wb[g] + Rb[g] for every row of x ([rows, input]); Rb left out from gate
    /// <paramref name="recurrentBiasEnd"/> on where it is not 0 (the GRU's candidate).
    /// </summary>
    private static void Project(float* x, long rows, int input, float* w, int gates, float* bias, int width, int recurrentBiasEnd, float* p)
    {
        float* sums = stackalloc float[4];
        for (long row = 0; row < rows; row += 4)
        {
            int count = (int)Math.Min(4, rows - row);
            for (int g = 0; g < gates; g++)
            {
                Dots(w + (long)g * input, x + row * input, input, count, sums);
                float b = bias == null ? 0 : bias[g] + (recurrentBiasEnd > 0 && g >= recurrentBiasEnd ? 0 : bias[width + g]);
                for (int k = 0; k < count; k++) p[(row + k) * gates + g] = sums[k] + b;
            }
        }
    }

    /// <summary>
    /// gates[n, g] = p[n, g] + R[g] · state[n] for the first <paramref name="rows"/> rows of R (p null: 0), each batch
    /// row's gates <paramref name="stride"/> apart (the projection's width by default).
    /// </summary>
    private static void Recurrent(float* r, int rows, float* state, int batch, int hidden, float* p, float* gates, int stride = 0)
    {
        if (stride == 0) stride = rows;
        float* sums = stackalloc float[4];
        for (int n = 0; n < batch; n += 4)
        {
            int count = Math.Min(4, batch - n);
            for (int g = 0; g < rows; g++)
            {
                Dots(r + (long)g * hidden, state + (long)n * hidden, hidden, count, sums);
                for (int k = 0; k < count; k++) gates[(long)(n + k) * stride + g] = (p == null ? 0 : p[(long)(n + k) * stride + g]) + sums[k];
            }
        }
    }

    /// <summary>The dot products of one weight row with <paramref name="count"/> (≤ 4) consecutive rows of length <paramref name="length"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots(float* weight, float* rows, int length, int count, float* sums)
    {
        int i = 0;
        if (Fma.IsSupported && count == 4)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i <= length - 8; i += 8)
            {
                var wv = Avx.LoadVector256(weight + i);
                s0 = Fma.MultiplyAdd(wv, Avx.LoadVector256(rows + i), s0);
                s1 = Fma.MultiplyAdd(wv, Avx.LoadVector256(rows + length + i), s1);
                s2 = Fma.MultiplyAdd(wv, Avx.LoadVector256(rows + 2 * length + i), s2);
                s3 = Fma.MultiplyAdd(wv, Avx.LoadVector256(rows + 3 * length + i), s3);
            }
            (sums[0], sums[1], sums[2], sums[3]) = (Vector256.Sum(s0), Vector256.Sum(s1), Vector256.Sum(s2), Vector256.Sum(s3));
        }
        else
        {
            for (int k = 0; k < count; k++) sums[k] = 0;
            if (Fma.IsSupported)
                for (int k = 0; k < count; k++)
                {
                    Vector256<float> s = default;
                    for (i = 0; i <= length - 8; i += 8) s = Fma.MultiplyAdd(Avx.LoadVector256(weight + i), Avx.LoadVector256(rows + (long)k * length + i), s);
                    sums[k] = Vector256.Sum(s);
                }
            else i = 0;
        }
        for (int j = i; j < length; j++)
            for (int k = 0; k < count; k++) sums[k] += weight[j] * rows[(long)k * length + j];
    }

    private static readonly Activation SigmoidActivation = new(ActivationKind.Sigmoid), TanhActivation = new(ActivationKind.Tanh);
}
