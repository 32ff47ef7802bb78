using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// Softmax along one axis (ONNX opset 13 and later), or, with <paramref name="flattenTrailing"/>, over all
/// dimensions from the axis on as one (opsets before 13).
/// </summary>
public sealed class SoftmaxLayer(string name, int axis, ValueRef x, bool flattenTrailing = false) : Layer(name, [x])
{
    public override LayerKind Kind => LayerKind.Softmax;
    public int Axis { get; } = axis;
    public bool FlattenTrailing { get; } = flattenTrailing;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        Shapes.NormalizeAxis(Axis, inputShapes[0].Length, "Softmax", Name);
        return (int[])inputShapes[0].Clone();
    }

    internal override object? CreateState(ExecutionFrame frame) => new SoftmaxJob();

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] shape = frame.Shape(Output);
        int axis = Axis < 0 ? Axis + shape.Length : Axis;
        int outer = (int)Shapes.ElementCount(shape.AsSpan(0, axis));
        // Opsets before 13 take everything from the axis on as one row.
        var (axisLength, inner) = FlattenTrailing ? ((int)Shapes.ElementCount(shape.AsSpan(axis)), 1) : (shape[axis], (int)Shapes.ElementCount(shape.AsSpan(axis + 1)));
        ((SoftmaxJob)state!).Run(frame.Pointer(Inputs[0]), frame.Pointer(Output), outer, axisLength, inner, frame.Pool);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(Axis);
        writer.Write(FlattenTrailing);
    }

    internal static SoftmaxLayer Read(string name, ValueRef[] inputs, PlanReader reader) => new(name, reader.ReadInt(-64, 63), inputs[0], reader.ReadBool());
}
