using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// One direction of an ONNX LSTM or GRU over a sequence [steps, batch, input], with the default activations (sigmoid
/// for the gates, tanh for the candidate and the output, by the engine's vectorized activations). W and R are packed
/// as GEMM operands on the first call and kept while the frame's weights stay bound (a refit binds new ones): packing
/// them at every call cost an LSTM of 256 units at batch 1 about a third of its time. The input's part of every gate
/// is one GEMM over all steps and batch rows (on the pool); each step's state part is one GEMM over the batch, its
/// columns shared by the pool's threads, each thread the same panels at every step (so each keeps its share of R in its
/// own L2 cache: an LSTM of 256 units has 1 MB of R), the projection added to it. One instance per layer of an
/// execution context (each holds its own packed W and R); not thread-safe.
/// </summary>
public sealed unsafe class RecurrentJob(bool shareModerateGemms) : IParallelTask
{
    /// <summary>Below this many multiply-adds a step's GEMM stays on the calling thread: handing half to a worker costs about a microsecond.</summary>
    private const long ShareFromMacs = 1 << 16;

    private readonly GemmJob _gemm = new(shareModerateGemms);

    // A step's one or two GEMMs (a GRU's R_h·h beside its z and r), split by column panels into _partCount parts, set
    // before each step's loop; part 0 runs on _gemm, part i on _partJobs[i − 1].
    private GemmJob[] _partJobs = [];
    private int _partCount;
    private StepGemm _first, _second;

    // Per direction: W, R and the gates' bias packed, for the frame's weights of this version (-1: none) and these tactics.
    private readonly PackedWeights[] _packed = [new(), new()];

    private sealed class PackedWeights
    {
        public float[] Data = [];
        public int Version = -1;
        public GemmTactic Projection, State;
    }

    /// <summary>y[rows, n] = a·B (+ bias) (+ residual) of one step; y's and the residual's rows are ldy floats apart.</summary>
    private struct StepGemm
    {
        public GemmTactic Tactic;
        public float* A, PackedB, Bias, Y, Residual;
        public int Rows, Depth, N, Ldy;
    }

    /// <summary>Scratch floats a direction needs: the projections, the gates, and three rows of state-sized work.</summary>
    public static long ScratchLength(int steps, int batch, int hidden, int gates) => ((long)steps * batch + batch) * gates * hidden + 3L * batch * hidden;

    private static (GemmTactic Projection, GemmTactic State) Tactics(int steps, int batch, int input, int hidden, int width) =>
        (GemmKernels.Heuristic(steps * batch, width, input), GemmKernels.Heuristic(batch, width, hidden));

    /// <summary>
    /// Runs the LSTM (gates i, o, f, c) over the steps (backwards when <paramref name="reverse"/>). w: [4H, I], r:
    /// [4H, H], bias: [8H] (Wb then Rb) or null; h and c [N, H] hold the initial states and end as the final ones. y (or
    /// null) receives step t's hidden state of batch row n at y + t · <paramref name="yStep"/> + n · H. W, R and the
    /// bias are packed for <paramref name="direction"/> once while <paramref name="weightsVersion"/>
    /// (<see cref="ExecutionFrame.WeightsVersion"/>) stays the same.
    /// </summary>
    public void Lstm(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, int direction, int weightsVersion,
        float* h, float* c, float* y, long yStep, bool reverse, float* scratch, WorkerPool pool)
    {
        int width = 4 * hidden;
        var (projection, state) = Tactics(steps, batch, input, hidden, width);
        float* packedR = Pack(x, steps, batch, input, hidden, w, r, bias, direction, weightsVersion, width, width, projection, state, scratch, pool, out float* projected);
        float* gates = projected + (long)steps * batch * width, squashed = gates + (long)batch * width;
        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            RunStep(pool, Gemm(state, h, batch, hidden, packedR, width, null, gates, width, projected + (long)t * batch * width));
            // i, o and f through the sigmoid, the candidate through tanh, every batch row at once.
            ActivationKernels.ApplyRows(SigmoidActivation, gates, width, batch, 3 * hidden);
            ActivationKernels.ApplyRows(TanhActivation, gates + 3 * hidden, width, batch, hidden);
            for (int n = 0; n < batch; n++)
            {
                float* g = gates + (long)n * width;
                MultiplyAdd(g + 2 * hidden, c + (long)n * hidden, g, g + 3 * hidden, c + (long)n * hidden, hidden);
            }
            ActivationKernels.Apply(TanhActivation, c, squashed, (nint)batch * hidden);
            for (int n = 0; n < batch; n++) Multiply(gates + (long)n * width + hidden, squashed + (long)n * hidden, h + (long)n * hidden, hidden);
            if (y != null) new ReadOnlySpan<float>(h, batch * hidden).CopyTo(new Span<float>(y + t * yStep, batch * hidden));
        }
    }

    /// <summary>
    /// Runs the GRU (gates z, r, h): w: [3H, I], r: [3H, H], bias: [6H] or null; h [N, H] holds the initial state and
    /// ends as the final one. With <paramref name="linearBeforeReset"/> the reset gate scales R_h·h + Rb_h (torch's form);
    /// without, R_h is applied to the reset state.
    /// </summary>
    public void Gru(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, int direction, int weightsVersion,
        float* h, float* y, long yStep, bool reverse, bool linearBeforeReset, float* scratch, WorkerPool pool)
    {
        int width = 3 * hidden;
        var (projection, state) = Tactics(steps, batch, input, hidden, width);
        // Rb of z and r joins the projection's bias; Rb_h stays apart (it is inside the reset).
        float* packedZr = Pack(x, steps, batch, input, hidden, w, r, bias, direction, weightsVersion, width, 2 * hidden, projection, state, scratch, pool, out float* projected);
        float* packedH = packedZr + GemmKernels.PackedLength(hidden, 2 * hidden, state);
        float* gates = projected + (long)steps * batch * width, reset = gates + (long)batch * width, candidate = reset + (long)batch * hidden;
        float* rbh = bias == null ? null : bias + width + 2 * hidden;
        for (int step = 0; step < steps; step++)
        {
            int t = reverse ? steps - 1 - step : step;
            float* p = projected + (long)t * batch * width;
            // z and r from the state plus their projection (rows of 3H, as the gates' rows); R_h·h beside them where the
            // reset scales its result, else after them, on the reset state.
            var zr = Gemm(state, h, batch, hidden, packedZr, 2 * hidden, null, gates, width, p);
            if (linearBeforeReset) RunStep(pool, zr, Gemm(state, h, batch, hidden, packedH, hidden, rbh, candidate, hidden, null));
            else RunStep(pool, zr);
            ActivationKernels.ApplyRows(SigmoidActivation, gates, width, batch, 2 * hidden);
            if (!linearBeforeReset)
            {
                for (int n = 0; n < batch; n++) Multiply(gates + (long)n * width + hidden, h + (long)n * hidden, reset + (long)n * hidden, hidden);
                RunStep(pool, Gemm(state, reset, batch, hidden, packedH, hidden, rbh, candidate, hidden, null));
            }
            // The candidate's sum before tanh: Wh·x + Wbh + r ⊙ (R_h·h + Rb_h), or + R_h·(r ⊙ h) + Rb_h.
            for (int n = 0; n < batch; n++)
            {
                float* cn = candidate + (long)n * hidden, projectedH = p + (long)n * width + 2 * hidden;
                if (linearBeforeReset) MultiplyAdd(gates + (long)n * width + hidden, cn, projectedH, null, cn, hidden);
                else BinaryKernels.Apply(BinaryOp.Add, projectedH, [hidden], cn, [hidden], cn, [hidden]);
            }
            ActivationKernels.Apply(TanhActivation, candidate, candidate, (nint)batch * hidden);
            for (int n = 0; n < batch; n++) Interpolate(gates + (long)n * width, candidate + (long)n * hidden, h + (long)n * hidden, hidden);
            if (y != null) new ReadOnlySpan<float>(h, batch * hidden).CopyTo(new Span<float>(y + t * yStep, batch * hidden));
        }
    }

    /// <summary>
    /// W and R (R's first <paramref name="recurrentRows"/> rows, then the rest apart) packed and the gates' bias (Wb + Rb,
    /// Rb only for the first <paramref name="recurrentRows"/> gates) made for this direction, or kept from an earlier
    /// call with these weights and tactics; then every step's input projected into the scratch: projected[t, n] = W ·
    /// x[t, n] + bias. Returns packed R.
    /// </summary>
    private float* Pack(float* x, int steps, int batch, int input, int hidden, float* w, float* r, float* bias, int direction, int weightsVersion,
        int width, int recurrentRows, GemmTactic projection, GemmTactic state, float* scratch, WorkerPool pool, out float* projected)
    {
        long wLength = GemmKernels.PackedLength(input, width, projection), rLength = GemmKernels.PackedLength(hidden, recurrentRows, state);
        long restLength = recurrentRows < width ? GemmKernels.PackedLength(hidden, width - recurrentRows, state) : 0;
        long length = wLength + rLength + restLength + width;
        var kept = _packed[direction];
        if (kept.Data.LongLength != length) (kept.Data, kept.Version) = (GC.AllocateUninitializedArray<float>(checked((int)length), pinned: true), -1);
        float* packedW = ExecutionFrame.AddressOf(kept.Data), packedR = packedW + wLength, rest = packedR + rLength, gateBias = rest + restLength;
        if (kept.Version != weightsVersion || kept.Projection != projection || kept.State != state)
        {
            // Forgotten first, so that a pack that fails leaves nothing to reuse.
            kept.Version = -1;
            GemmKernels.PackB(w, input, width, transB: true, 1f, projection, packedW);
            GemmKernels.PackB(r, hidden, recurrentRows, transB: true, 1f, state, packedR);
            if (recurrentRows < width) GemmKernels.PackB(r + (long)recurrentRows * hidden, hidden, width - recurrentRows, transB: true, 1f, state, rest);
            for (int g = 0; g < width; g++) gateBias[g] = bias == null ? 0 : bias[g] + (g < recurrentRows ? bias[width + g] : 0);
            (kept.Version, kept.Projection, kept.State) = (weightsVersion, projection, state);
        }
        projected = scratch;
        _gemm.Run(projection, x, steps * batch, input, false, packedW, width, gateBias, default, projected, pool);
        return packedR;
    }

    private static StepGemm Gemm(GemmTactic tactic, float* a, int rows, int depth, float* packedB, int n, float* bias, float* y, int ldy, float* residual) =>
        new() { Tactic = tactic, A = a, Rows = rows, Depth = depth, PackedB = packedB, N = n, Bias = bias, Y = y, Ldy = ldy, Residual = residual };

    /// <summary>Runs a step's GEMMs (a second one, where given, in the same loop), shared by the pool's threads where they are large enough.</summary>
    private void RunStep(WorkerPool pool, in StepGemm first, in StepGemm second = default)
    {
        (_first, _second) = (first, second);
        long macs = (long)first.Rows * first.Depth * (first.N + second.N);
        _partCount = macs < ShareFromMacs ? 1 : Math.Min(pool.ThreadCount, GemmKernels.PanelCount(first.N, first.Tactic));
        if (_partJobs.Length < _partCount - 1) _partJobs = [.. Enumerable.Range(1, _partCount - 1).Select(_ => new GemmJob(false))];
        if (_partCount > 1) pool.For(_partCount, this);
        else Execute(0);
    }

    /// <summary>Part <paramref name="index"/> of the step's GEMMs: its share of each one's column panels.</summary>
    public void Execute(int index)
    {
        var job = index == 0 ? _gemm : _partJobs[index - 1];
        RunPart(job, _first, index);
        if (_second.Y != null) RunPart(job, _second, index);
    }

    private void RunPart(GemmJob job, in StepGemm g, int index)
    {
        int nr = g.Tactic.Nr, panels = GemmKernels.PanelCount(g.N, g.Tactic);
        int first = panels * index / _partCount, end = panels * (index + 1) / _partCount;
        int j0 = first * nr, columns = Math.Min(g.N, end * nr) - j0;
        if (columns <= 0) return;
        job.RunOnThisThread(g.Tactic, g.A, g.Rows, g.Depth, g.PackedB + (nint)first * nr * g.Depth, columns, g.Bias == null ? null : g.Bias + j0, default,
            g.Y + j0, g.Ldy, g.Residual == null ? null : g.Residual + j0);
    }

    /// <summary>y = a ⊙ b + c ⊙ d, or a ⊙ b + c where d is null: each product rounded, then the sum (no fused multiply-add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyAdd(float* a, float* b, float* c, float* d, float* y, int count)
    {
        int i = 0;
        for (; i + 8 <= count; i += 8)
        {
            var product = Vector256.Load(a + i) * Vector256.Load(b + i);
            Vector256.Store(product + (d == null ? Vector256.Load(c + i) : Vector256.Load(c + i) * Vector256.Load(d + i)), y + i);
        }
        for (; i < count; i++) y[i] = a[i] * b[i] + (d == null ? c[i] : c[i] * d[i]);
    }

    /// <summary>y = a ⊙ b over one row.</summary>
    private static void Multiply(float* a, float* b, float* y, int count) => BinaryKernels.Apply(BinaryOp.Mul, a, [count], b, [count], y, [count]);

    /// <summary>h = (1 − z) ⊙ n + z ⊙ h, a GRU's new state.</summary>
    private static void Interpolate(float* z, float* n, float* h, int count)
    {
        int i = 0;
        for (; i + 8 <= count; i += 8)
        {
            var gate = Vector256.Load(z + i);
            Vector256.Store((Vector256<float>.One - gate) * Vector256.Load(n + i) + gate * Vector256.Load(h + i), h + i);
        }
        for (; i < count; i++) h[i] = (1 - z[i]) * n[i] + z[i] * h[i];
    }

    private static readonly Activation SigmoidActivation = new(ActivationKind.Sigmoid), TanhActivation = new(ActivationKind.Tanh);
}
