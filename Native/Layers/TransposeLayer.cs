using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>ONNX Transpose: output dim i is input dim Perm[i] (rank ≤ 6).</summary>
public sealed class TransposeLayer(string name, ValueRef x, int[] perm) : Layer(name, [x])
{
    private const int MaxRank = 6;

    public override LayerKind Kind => LayerKind.Transpose;
    public int[] Perm { get; } = perm;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (x.Length > MaxRank) throw new ShapeException($"Transpose '{Name}': rank {x.Length} is above {MaxRank}.");
        if (Perm.Length != x.Length || !Perm.Order().SequenceEqual(Enumerable.Range(0, x.Length)))
            throw new ShapeException($"Transpose '{Name}': perm [{string.Join(", ", Perm)}] is not a permutation of the {x.Length} dims of {Shapes.Format(x)}.");
        var y = new int[x.Length];
        for (int i = 0; i < y.Length; i++) y[i] = x[Perm[i]];
        return y;
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]);
        Span<nint> xStrides = stackalloc nint[x.Length];
        Span<nint> strides = stackalloc nint[x.Length];
        CopyKernels.ContiguousStrides(x, xStrides);
        for (int i = 0; i < Perm.Length; i++) strides[i] = xStrides[Perm[i]];
        CopyKernels.Strided(frame.Pointer(Inputs[0]), strides, frame.Pointer(Output), default, frame.Shape(Output));
    }

    internal override void WriteParameters(PlanWriter writer) => writer.Write(Perm);

    internal static TransposeLayer Read(string name, ValueRef[] inputs, PlanReader reader) => new(name, inputs[0], reader.ReadInt32Array());
}
