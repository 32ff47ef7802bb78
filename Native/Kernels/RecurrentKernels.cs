using System.Numerics;
using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// One direction of an ONNX LSTM or GRU over a sequence, with the default activations (sigmoid for the gates, tanh
/// for the candidate and the output): each step's gates are the weights' rows dotted with the input and the hidden
/// state, then the cell's update, batch row by batch row.
/// </summary>
public static unsafe class RecurrentKernels
{
    /// <summary>Where a direction reads and writes: x[t, n] at x + t·stepStride + n·batchStride (floats), and the same for y.</summary>
    public readonly record struct Strides(long StepX, long BatchX, long StepY, long BatchY);

    /// <summary>
    /// Runs the LSTM over <paramref name="steps"/> steps (backwards when <paramref name="reverse"/>). w: [4H, I], r:
    /// [4H, H], bias: [8H] (Wb then Rb) or null; h and c hold the initial states [N, H] and end as the final ones;
    /// gates is scratch of [4H]. y (or null) receives each step's hidden state.
    /// </summary>
    public static void Lstm(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, float* h, float* c,
        float* y, Strides strides, bool reverse, float* gates)
    {
        int width = 4 * hidden;
        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            for (int n = 0; n < batch; n++)
            {
                float* hn = h + (long)n * hidden, cn = c + (long)n * hidden;
                Gates(x + t * strides.StepX + n * strides.BatchX, input, hn, hidden, w, r, bias, width, width, gates);
                for (int j = 0; j < hidden; j++)
                {
                    float i = Sigmoid(gates[j]), o = Sigmoid(gates[hidden + j]), f = Sigmoid(gates[2 * hidden + j]), g = MathF.Tanh(gates[3 * hidden + j]);
                    cn[j] = f * cn[j] + i * g;
                    hn[j] = o * MathF.Tanh(cn[j]);
                }
                if (y != null) new ReadOnlySpan<float>(hn, hidden).CopyTo(new Span<float>(y + t * strides.StepY + n * strides.BatchY, hidden));
            }
        }
    }

    /// <summary>
    /// Runs the GRU: w: [3H, I], r: [3H, H], bias: [6H] or null; h holds the initial state [N, H] and ends as the final
    /// one; gates is scratch of [3H] and recurrent of [H]. With <paramref name="linearBeforeReset"/> the reset gate
    /// scales R_h·h + Rb_h (torch's form); without, R_h is applied to the reset hidden state.
    /// </summary>
    public static void Gru(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, float* h, float* y,
        Strides strides, bool reverse, bool linearBeforeReset, float* gates, float* recurrent)
    {
        int width = 3 * hidden;
        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            for (int n = 0; n < batch; n++)
            {
                float* hn = h + (long)n * hidden, xn = x + t * strides.StepX + n * strides.BatchX;
                // z and r from the input and the state; the candidate's input part alone for now.
                Gates(xn, input, hn, hidden, w, r, bias, 2 * hidden, width, gates);
                for (int j = 0; j < hidden; j++)
                {
                    int row = 2 * hidden + j;
                    gates[row] = Dot(w + (long)row * input, xn, input) + (bias == null ? 0 : bias[row]);
                }
                for (int j = 0; j < hidden; j++)
                {
                    float z = Sigmoid(gates[j]), reset = Sigmoid(gates[hidden + j]);
                    gates[j] = z;
                    gates[hidden + j] = reset;
                }
                for (int j = 0; j < hidden; j++)
                {
                    int row = 2 * hidden + j;
                    float rb = bias == null ? 0 : bias[width + row];
                    if (linearBeforeReset) recurrent[j] = gates[hidden + j] * (Dot(r + (long)row * hidden, hn, hidden) + rb);
                    else
                    {
                        float sum = rb;
                        for (int k = 0; k < hidden; k++) sum += r[(long)row * hidden + k] * gates[hidden + k] * hn[k];
                        recurrent[j] = sum;
                    }
                }
                for (int j = 0; j < hidden; j++)
                {
                    float candidate = MathF.Tanh(gates[2 * hidden + j] + recurrent[j]), z = gates[j];
                    hn[j] = (1 - z) * candidate + z * hn[j];
                }
                if (y != null) new ReadOnlySpan<float>(hn, hidden).CopyTo(new Span<float>(y + t * strides.StepY + n * strides.BatchY, hidden));
            }
        }
    }

    /// <summary>The first <paramref name="rows"/> gates: W's row · x + R's row · h + both biases (bias holds Wb, then Rb, each <paramref name="width"/> long).</summary>
    private static void Gates(float* x, int input, float* h, int hidden, float* w, float* r, float* bias, int rows, int width, float* gates)
    {
        for (int g = 0; g < rows; g++)
            gates[g] = Dot(w + (long)g * input, x, input) + Dot(r + (long)g * hidden, h, hidden) + (bias == null ? 0 : bias[g] + bias[width + g]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));

    private static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        var sum = Vector<float>.Zero;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            sum += Unsafe.ReadUnaligned<Vector<float>>(a + i) * Unsafe.ReadUnaligned<Vector<float>>(b + i);
        float total = Vector.Sum(sum);
        for (; i < n; i++) total += a[i] * b[i];
        return total;
    }
}
