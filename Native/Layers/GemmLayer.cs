using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// y = act(alpha·A·op(B) + beta·bias) with B a weight. A may have leading batch dims (a MatMul by a weight).
/// In a plan, B is packed for the chosen tactic with alpha folded in, and the bias has beta folded in.
/// Inputs: [A, B, bias or none].
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

    internal override object? CreateState(ExecutionFrame frame) => new GemmJob();

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] a = frame.Shape(A);
        int m = TransA ? a[1] : (int)(Shapes.ElementCount(a) / K);
        float* bias = Bias.IsNone ? null : frame.Pointer(Bias);
        ((GemmJob)state!).Run(GemmKernels.Tactics[TacticId], frame.Pointer(A), m, K, TransA, frame.Pointer(B), N, bias, Activation, frame.Pointer(Output), frame.Pool);
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
        writer.Write(TacticId);
    }

    internal static GemmLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        var layer = new GemmLayer(name, inputs[0], inputs[1], inputs[2], reader.ReadBool(), reader.ReadBool(), reader.ReadSingle(), reader.ReadSingle(), reader.ReadPositiveInt(), reader.ReadPositiveInt())
        {
            Activation = reader.ReadActivation(),
        };
        layer.TacticId = reader.ReadInt(0, GemmKernels.Tactics.Count - 1);
        return layer;
    }
}
