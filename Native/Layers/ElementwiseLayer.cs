using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>A binary elementwise operation with ONNX broadcasting; either operand may be a weight.</summary>
public sealed class ElementwiseLayer(string name, BinaryOp op, ValueRef a, ValueRef b) : Layer(name, [a, b])
{
    public override LayerKind Kind => LayerKind.Elementwise;
    public BinaryOp Operation { get; } = op;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => Shapes.Broadcast(inputShapes[0], inputShapes[1]);

    internal override unsafe void Execute(ExecutionFrame frame, object? state) =>
        BinaryKernels.Apply(Operation, frame.Pointer(Inputs[0]), frame.Shape(Inputs[0]), frame.Pointer(Inputs[1]), frame.Shape(Inputs[1]), frame.Pointer(Output), frame.Shape(Output));

    internal override void WriteParameters(PlanWriter writer) => writer.Write((byte)Operation);

    internal static ElementwiseLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, reader.ReadEnum<BinaryOp>(), inputs[0], inputs[1]);
}
