using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>ONNX Concat: joins its inputs (tensors or weights) along one axis; all other dims must agree.</summary>
public sealed class ConcatLayer(string name, int axis, ValueRef[] inputs) : Layer(name, inputs)
{
    public override LayerKind Kind => LayerKind.Concat;
    public int Axis { get; } = axis;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] first = inputShapes[0];
        int rank = first.Length;
        int axis = Shapes.NormalizeAxis(Axis, rank, $"Concat '{Name}'");
        if (rank > CopyKernels.MaxRank) throw new ShapeException($"Concat '{Name}': rank {rank} is above {CopyKernels.MaxRank}.");
        int[] y = (int[])first.Clone();
        for (int i = 1; i < inputShapes.Count; i++)
        {
            int[] s = inputShapes[i];
            if (s.Length != rank) throw new ShapeException($"Concat '{Name}': input {i} {Shapes.Format(s)} does not have the rank of {Shapes.Format(first)}.");
            for (int d = 0; d < rank; d++)
            {
                if (d == axis) y[d] = y[d] < 0 || s[d] < 0 ? Shapes.Dynamic : checked(y[d] + s[d]);
                else if (y[d] < 0) y[d] = s[d];
                else if (s[d] >= 0 && s[d] != y[d])
                    throw new ShapeException($"Concat '{Name}': input {i} {Shapes.Format(s)} differs from {Shapes.Format(first)} outside axis {Axis}.");
            }
        }
        return y;
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] y = frame.Shape(Output);
        int axis = Axis < 0 ? Axis + y.Length : Axis;
        Span<nint> yStrides = stackalloc nint[y.Length];
        Span<nint> xStrides = stackalloc nint[y.Length];
        CopyKernels.ContiguousStrides(y, yStrides);
        float* dst = frame.Pointer(Output);
        foreach (var input in Inputs)
        {
            int[] x = frame.Shape(input);
            CopyKernels.ContiguousStrides(x, xStrides);
            CopyKernels.Strided(frame.Pointer(input), xStrides, dst, yStrides, x);
            dst += x[axis] * yStrides[axis];
        }
    }

    internal override void WriteParameters(PlanWriter writer) => writer.Write(Axis);

    internal static ConcatLayer Read(string name, ValueRef[] inputs, PlanReader reader) => new(name, reader.ReadInt(-64, 63), inputs);
}
