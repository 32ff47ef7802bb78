using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// One direction of an ONNX LSTM or GRU over a sequence [steps, batch, input], with the default activations (sigmoid
/// for the gates, tanh for the candidate and the output, by the engine's vectorized activations). W and R are packed
/// as GEMM operands at each call (a few hundred KB for cells of hundreds of units, against the many GEMMs that read
/// them); the input's part of every gate is one GEMM over all steps and batch rows (on the pool), each step's state
/// part one GEMM over the batch (on this thread: a few rows), the projection added to it. One instance per engine
/// layer; not thread-safe.
/// </summary>
public sealed unsafe class RecurrentJob(bool shareModerateGemms)
{
    private readonly GemmJob _gemm = new(shareModerateGemms);

    /// <summary>Scratch floats a direction needs: packed W and R, the gates' bias, the projections, the gates, and three rows of state-sized work.</summary>
    public static long ScratchLength(int steps, int batch, int input, int hidden, int gates)
    {
        int width = gates * hidden;
        var (projection, state) = Tactics(steps, batch, input, hidden, width);
        return GemmKernels.PackedLength(input, width, projection) + PackedLength(hidden, width, gates, state) + width
            + ((long)steps * batch + batch) * width + 3L * batch * hidden;
    }

    private static (GemmTactic Projection, GemmTactic State) Tactics(int steps, int batch, int input, int hidden, int width) =>
        (GemmKernels.Heuristic(steps * batch, width, input), GemmKernels.Heuristic(batch, width, hidden));

    /// <summary>R packed whole, or for a GRU as its z and r rows and its h rows apart (the h rows meet the reset state).</summary>
    private static long PackedLength(int hidden, int width, int gates, GemmTactic tactic) =>
        gates == 3 ? GemmKernels.PackedLength(hidden, 2 * hidden, tactic) + GemmKernels.PackedLength(hidden, hidden, tactic) : GemmKernels.PackedLength(hidden, width, tactic);

    /// <summary>
    /// Runs the LSTM (gates i, o, f, c) over the steps (backwards when <paramref name="reverse"/>). w: [4H, I], r:
    /// [4H, H], bias: [8H] (Wb then Rb) or null; h and c [N, H] hold the initial states and end as the final ones. y (or
    /// null) receives step t's hidden state of batch row n at y + t · <paramref name="yStep"/> + n · H.
    /// </summary>
    public void Lstm(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, float* h, float* c,
        float* y, long yStep, bool reverse, float* scratch, WorkerPool pool)
    {
        int width = 4 * hidden;
        var (projection, state) = Tactics(steps, batch, input, hidden, width);
        float* packedR = Pack(x, steps, batch, input, hidden, w, r, bias, width, width, projection, state, scratch, pool, out float* projected);
        float* gates = projected + (long)steps * batch * width, squashed = gates + (long)batch * width;
        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            _gemm.RunOnThisThread(state, h, batch, hidden, packedR, width, null, default, gates, width, projected + (long)t * batch * width);
            // i, o and f through the sigmoid, the candidate through tanh, every batch row at once.
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
    public void Gru(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, float* h, float* y, long yStep,
        bool reverse, bool linearBeforeReset, float* scratch, WorkerPool pool)
    {
        int width = 3 * hidden;
        var (projection, state) = Tactics(steps, batch, input, hidden, width);
        // Rb of z and r joins the projection's bias; Rb_h stays apart (it is inside the reset).
        float* packedZr = Pack(x, steps, batch, input, hidden, w, r, bias, width, 2 * hidden, projection, state, scratch, pool, out float* projected);
        float* packedH = packedZr + GemmKernels.PackedLength(hidden, 2 * hidden, state);
        float* gates = projected + (long)steps * batch * width, reset = gates + (long)batch * width, candidate = reset + (long)batch * hidden;
        float* rbh = bias == null ? null : bias + width + 2 * hidden;
        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            float* p = projected + (long)t * batch * width;
            // z and r from the state plus their projection (rows of 3H: not the GEMM's residual, whose rows are 2H), then
            // through the sigmoid; R_h·h apart.
            _gemm.RunOnThisThread(state, h, batch, hidden, packedZr, 2 * hidden, null, default, gates, width, null);
            for (int n = 0; n < batch; n++)
                for (int j = 0; j < 2 * hidden; j++) gates[(long)n * width + j] += p[(long)n * width + j];
            ActivationKernels.ApplyRows(SigmoidActivation, gates, width, batch, 2 * hidden);
            if (linearBeforeReset) _gemm.RunOnThisThread(state, h, batch, hidden, packedH, hidden, rbh, default, candidate, hidden, null);
            else
            {
                for (int n = 0; n < batch; n++)
                    for (int j = 0; j < hidden; j++) reset[(long)n * hidden + j] = gates[(long)n * width + hidden + j] * h[(long)n * hidden + j];
                _gemm.RunOnThisThread(state, reset, batch, hidden, packedH, hidden, rbh, default, candidate, hidden, null);
            }
            // The candidate's sum before tanh: Wh·x + Wbh + r ⊙ (R_h·h + Rb_h), or + R_h·(r ⊙ h) + Rb_h.
            for (int n = 0; n < batch; n++)
                for (int j = 0; j < hidden; j++)
                {
                    long at = (long)n * hidden + j;
                    float recurrent = linearBeforeReset ? gates[(long)n * width + hidden + j] * candidate[at] : candidate[at];
                    candidate[at] = p[(long)n * width + 2 * hidden + j] + recurrent;
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
    /// Packs W and R (R's first <paramref name="recurrentRows"/> rows, then the rest apart), makes the gates' bias
    /// (Wb + Rb, Rb only for the first <paramref name="recurrentRows"/> gates) and projects every step's input:
    /// projected[t, n] = W · x[t, n] + bias. Returns packed R.
    /// </summary>
    private float* Pack(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, int width, int recurrentRows,
        GemmTactic projection, GemmTactic state, float* scratch, WorkerPool pool, out float* projected)
    {
        float* packedW = scratch, packedR = packedW + GemmKernels.PackedLength(input, width, projection);
        GemmKernels.PackB(w, input, width, transB: true, 1f, projection, packedW);
        GemmKernels.PackB(r, hidden, recurrentRows, transB: true, 1f, state, packedR);
        float* rest = packedR + GemmKernels.PackedLength(hidden, recurrentRows, state);
        if (recurrentRows < width) GemmKernels.PackB(r + (long)recurrentRows * hidden, hidden, width - recurrentRows, transB: true, 1f, state, rest);
        float* gateBias = rest + (recurrentRows < width ? GemmKernels.PackedLength(hidden, width - recurrentRows, state) : 0);
        for (int g = 0; g < width; g++) gateBias[g] = bias == null ? 0 : bias[g] + (g < recurrentRows ? bias[width + g] : 0);
        projected = gateBias + width;
        _gemm.Run(projection, x, steps * batch, input, false, packedW, width, gateBias, default, projected, pool);
        return packedR;
    }

    private static readonly Activation SigmoidActivation = new(ActivationKind.Sigmoid), TanhActivation = new(ActivationKind.Tanh);
}
