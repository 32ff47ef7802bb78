using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX ArgMax and ArgMin (indices as floats: the axis kept as 1 or dropped), CumSum (the input's shape) and TopK's
/// indices (the axis cut to <see cref="Count"/>) along one axis. <see cref="Last"/> is select_last_index for the first
/// two and reverse for CumSum; <see cref="Exclusive"/> is CumSum's.
/// </summary>
public sealed class AxisLayer(string name, ValueRef x, AxisOperation operation, int axis, bool keepDims, bool last, bool exclusive, int count = 0) : Layer(name, [x])
{
    public override LayerKind Kind => LayerKind.Axis;
    public AxisOperation Operation { get; } = operation;
    public int Axis { get; } = axis;
    public bool KeepDims { get; } = keepDims;
    public bool Last { get; } = last;
    public bool Exclusive { get; } = exclusive;
    public int Count { get; } = count;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        int axis = Shapes.NormalizeAxis(Axis, x.Length, Operation.ToString(), Name);
        if (Operation == AxisOperation.CumSum) return x;
        if (Operation is AxisOperation.TopKLargest or AxisOperation.TopKSmallest)
            return x[axis] < 0 || x[axis] >= Count ? x.Select((d, i) => i == axis ? Count : d).ToArray()
                : throw new ShapeException($"TopK '{Name}': k = {Count} is more than the {x[axis]} values along axis {Axis} of {Shapes.Format(x)}.");
        if (x[axis] == 0) throw new ShapeException($"{Operation} '{Name}': axis {Axis} of {Shapes.Format(x)} is empty; it has no index to give.");
        return KeepDims ? x.Select((d, i) => i == axis ? 1 : d).ToArray() : x.Where((_, i) => i != axis).ToArray();
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]);
        int axis = Shapes.NormalizeAxis(Axis, x.Length, Operation.ToString(), Name);
        int outer = (int)Shapes.ElementCount(x.AsSpan(0, axis)), inner = (int)Shapes.ElementCount(x.AsSpan(axis + 1));
        if (Operation == AxisOperation.CumSum) AxisKernels.CumSum(frame.Pointer(Inputs[0]), outer, x[axis], inner, Exclusive, Last, frame.Pointer(Output));
        else if (Operation is AxisOperation.TopKLargest or AxisOperation.TopKSmallest)
            AxisKernels.TopK(frame.Pointer(Inputs[0]), outer, x[axis], inner, Count, Operation == AxisOperation.TopKLargest, frame.Pointer(Output));
        else AxisKernels.ArgExtreme(frame.Pointer(Inputs[0]), outer, x[axis], inner, Operation == AxisOperation.ArgMin, Last, frame.Pointer(Output));
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)Operation);
        writer.Write(Axis);
        writer.Write(KeepDims);
        writer.Write(Last);
        writer.Write(Exclusive);
        writer.Write(Count);
    }

    internal static AxisLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, inputs[0], reader.ReadEnum<AxisOperation>(), reader.ReadInt(-64, 63), reader.ReadBool(), reader.ReadBool(), reader.ReadBool(), reader.ReadInt(0, int.MaxValue));
}
