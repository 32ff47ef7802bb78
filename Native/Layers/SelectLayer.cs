using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX Where: the condition's nonzero elements take the first value, the others the second, all three broadcast
/// together. The condition is a comparison's 1 and 0 (the engine's booleans); any operand may be a weight.
/// </summary>
public sealed class SelectLayer(string name, ValueRef condition, ValueRef whenTrue, ValueRef whenFalse) : Layer(name, [condition, whenTrue, whenFalse])
{
    public override LayerKind Kind => LayerKind.Select;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes) =>
        Shapes.Broadcast(Shapes.Broadcast(inputShapes[0], inputShapes[1]), inputShapes[2]);

    internal override unsafe void Execute(ExecutionFrame frame, object? state) =>
        SelectKernels.Apply(frame.Pointer(Inputs[0]), frame.Shape(Inputs[0]), frame.Pointer(Inputs[1]), frame.Shape(Inputs[1]),
            frame.Pointer(Inputs[2]), frame.Shape(Inputs[2]), frame.Pointer(Output), frame.Shape(Output));

    internal override void WriteParameters(PlanWriter writer) { }
}
