using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// y = act(alpha·A·op(B) + beta·bias) with B a weight. A may have leading batch dims (a MatMul by a weight).
/// In a plan, B is packed for the chosen tactic with alpha folded in (or kept in its [N, K] rows, see
/// <see cref="WeightRows"/>), and the bias has beta folded in. Inputs: [A, B, bias or none].
/// </summary>
public sealed class GemmLayer : Layer
{
    public GemmLayer(string name, ValueRef a, ValueRef b, ValueRef bias, bool transA, bool transB, float alpha, float beta, int k, int n)
        : base(name, [a, b, bias])
    {
        TransA = transA;
        TransB = transB;
        Alpha = alpha;
        Beta = beta;
        K = k;
        N = n;
    }

    public override LayerKind Kind => LayerKind.Gemm;
    public bool TransA { get; }
    public bool TransB { get; }
    public float Alpha { get; }
    public float Beta { get; }
    public int K { get; }
    public int N { get; }
    public Activation Activation { get; internal set; } = new(ActivationKind.Identity);
    public int TacticId { get; internal set; } = -1;

    /// <summary>
    /// B is the model's [N, K] weight as it is (times alpha) and each output a dot product of rows
    /// (<see cref="WeightRowsGemmJob"/>) instead of a packed tactic: a refit copies the weight rather than transposing it.
    /// </summary>
    public bool WeightRows { get; internal set; }

    /// <summary>
    /// Whether a GEMM of <paramref name="m"/> rows (at the opt shape) keeps B's rows: a transposed B (a Linear layer's
    /// weight) read by one row of A, where a packed tactic is no faster (each reads every weight once; with more rows a
    /// packed tile reuses B from registers and wins). A rule, not a timing: the two add in other orders, and the same model
    /// must give the same bits at every optimization level.
    /// </summary>
    public bool TakesWeightRows(int m) => TransB && !TransA && m == 1;

    public ValueRef A => Inputs[0];
    public ValueRef B => Inputs[1];
    public ValueRef Bias => Inputs[2];

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] a = inputShapes[0];
        if (TransA)
        {
            if (a.Length != 2) throw new ShapeException($"Gemm '{Name}': a transposed A must be 2-D, got {Shapes.Format(a)}.");
            if (a[0] >= 0 && a[0] != K) throw new ShapeException($"Gemm '{Name}': A {Shapes.Format(a)} (transposed) does not have {K} rows.");
            return [a[1], N];
        }
        if (a.Length < 1 || (a[^1] >= 0 && a[^1] != K))
            throw new ShapeException($"Gemm '{Name}': A {Shapes.Format(a)} must end in the inner dimension {K}.");
        int[] y = (int[])a.Clone();
        y[^1] = N;
        return y;
    }

    internal override object? CreateState(ExecutionFrame frame) => WeightRows ? new WeightRowsGemmJob() : new GemmJob(frame.ModerateGemmsShared);

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] a = frame.Shape(A);
        int m = TransA ? a[1] : (int)(Shapes.ElementCount(a) / K);
        float* bias = Bias.IsNone ? null : frame.Pointer(Bias);
        if (WeightRows)
            ((WeightRowsGemmJob)state!).Run(frame.Pointer(A), m, K, frame.Pointer(B), N, bias, Activation, frame.Pointer(Output), frame.Pool, wide: true);
        else ((GemmJob)state!).Run(GemmKernels.Tactics[TacticId], frame.Pointer(A), m, K, TransA, frame.Pointer(B), N, bias, Activation, frame.Pointer(Output), frame.Pool);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(TransA);
        writer.Write(TransB);
        writer.Write(Alpha);
        writer.Write(Beta);
        writer.Write(K);
        writer.Write(N);
        writer.Write(Activation);
        writer.Write(WeightRows);
        if (!WeightRows) writer.Write(TacticId);
    }

    internal static GemmLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        var layer = new GemmLayer(name, inputs[0], inputs[1], inputs[2], reader.ReadBool(), reader.ReadBool(), reader.ReadSingle(), reader.ReadSingle(), reader.ReadPositiveInt(), reader.ReadPositiveInt())
        {
            Activation = reader.ReadActivation(),
        };
        layer.WeightRows = reader.ReadBool();
        if (!layer.WeightRows) layer.TacticId = reader.ReadInt(0, GemmKernels.Tactics.Count - 1);
        return layer;
    }
}
