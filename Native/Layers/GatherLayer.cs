using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX Gather at indices computed at run time: the data (a weight, such as an embedding table, or a tensor) picked
/// along <see cref="Axis"/> at each index, the indices' dims in place of that axis. Indices are integers held as floats.
/// </summary>
public sealed class GatherLayer(string name, ValueRef data, ValueRef indices, int axis) : Layer(name, [data, indices])
{
    public override LayerKind Kind => LayerKind.Gather;
    public int Axis { get; } = axis;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] data = inputShapes[0];
        int axis = Shapes.NormalizeAxis(Axis, data.Length, "Gather", Name);
        return [.. data[..axis], .. inputShapes[1], .. data[(axis + 1)..]];
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] data = frame.Shape(Inputs[0]);
        int axis = Shapes.NormalizeAxis(Axis, data.Length, "Gather", Name);
        GatherKernels.Apply(frame.Pointer(Inputs[0]), (int)Shapes.ElementCount(data.AsSpan(0, axis)), data[axis], (int)Shapes.ElementCount(data.AsSpan(axis + 1)),
            frame.Pointer(Inputs[1]), (int)Shapes.ElementCount(frame.Shape(Inputs[1])), frame.Pointer(Output), Name);
    }

    internal override void WriteParameters(PlanWriter writer) => writer.Write(Axis);

    internal static GatherLayer Read(string name, ValueRef[] inputs, PlanReader reader) => new(name, inputs[0], inputs[1], reader.ReadInt(-64, 63));
}
