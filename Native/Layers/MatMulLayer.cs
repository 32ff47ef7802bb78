using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>ONNX MatMul of two run-time operands (a weight operand other than B also lands here).</summary>
public sealed class MatMulLayer(string name, ValueRef a, ValueRef b) : Layer(name, [a, b])
{
    public override LayerKind Kind => LayerKind.MatMul;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => ShapeInference.MatMul(inputShapes[0], inputShapes[1]);

    internal override object? CreateState(ExecutionFrame frame) => new GemmJob(frame.ModerateGemmsShared);

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        // 1-D operands are promoted as ONNX says; the kernel sees ranks >= 2.
        int[] a = frame.Shape(Inputs[0]), b = frame.Shape(Inputs[1]);
        ReadOnlySpan<int> a2 = a.Length == 1 ? stackalloc int[] { 1, a[0] } : a;
        ReadOnlySpan<int> b2 = b.Length == 1 ? stackalloc int[] { b[0], 1 } : b;
        int[] output = frame.Shape(Output);
        int batchRank = output.Length - (a.Length > 1 ? 1 : 0) - (b.Length > 1 ? 1 : 0);
        Span<int> y = stackalloc int[batchRank + 2];
        output.AsSpan(0, batchRank).CopyTo(y);
        y[^2] = a2[^2];
        y[^1] = b2[^1];
        ((GemmJob)state!).RunMatMul(HeuristicTactic(a2, b2), frame.Pointer(Inputs[0]), a2, frame.Pointer(Inputs[1]), b2, frame.Pointer(Output), y, frame.Workspace, frame.Pool);
    }

    internal override long WorkspaceLength(ExecutionFrame frame)
    {
        int[] a = frame.Shape(Inputs[0]), b = frame.Shape(Inputs[1]);
        int k = a[^1], n = b.Length == 1 ? 1 : b[^1];
        return GemmJob.MatMulWorkspaceLength(k, n, GemmKernels.Heuristic(a.Length == 1 ? 1 : a[^2], n, k), frame.Pool.ThreadCount);
    }

    private static GemmTactic HeuristicTactic(ReadOnlySpan<int> a2, ReadOnlySpan<int> b2) => GemmKernels.Heuristic(a2[^2], b2[^1], a2[^1]);

    internal override void WriteParameters(PlanWriter writer) { }
}
