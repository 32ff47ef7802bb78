using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>Softmax along one axis (ONNX opset 13 semantics; the importer rewrites older opsets).</summary>
public sealed class SoftmaxLayer(string name, int axis, ValueRef x) : Layer(name, [x])
{
    public override LayerKind Kind => LayerKind.Softmax;
    public int Axis { get; } = axis;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        Shapes.NormalizeAxis(Axis, inputShapes[0].Length, $"Softmax '{Name}'");
        return (int[])inputShapes[0].Clone();
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] shape = frame.Shape(Output);
        int axis = Axis < 0 ? Axis + shape.Length : Axis;
        int outer = (int)Shapes.ElementCount(shape.AsSpan(0, axis)), inner = (int)Shapes.ElementCount(shape.AsSpan(axis + 1));
        SoftmaxKernels.Run(frame.Pointer(Inputs[0]), frame.Pointer(Output), outer, shape[axis], inner);
    }

    internal override void WriteParameters(PlanWriter writer) => writer.Write(Axis);

    internal static SoftmaxLayer Read(string name, ValueRef[] inputs, PlanReader reader) => new(name, reader.ReadInt(-64, 63), inputs[0]);
}
