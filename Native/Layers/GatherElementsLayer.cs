using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX GatherElements (torch.gather): each output element the data's element at its own position, but along
/// <see cref="Axis"/> at its index; the output has the indices' shape. TopK's values are this of its indices.
/// </summary>
public sealed class GatherElementsLayer(string name, ValueRef data, ValueRef indices, int axis) : Layer(name, [data, indices])
{
    public override LayerKind Kind => LayerKind.GatherElements;
    public int Axis { get; } = axis;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] data = inputShapes[0], indices = inputShapes[1];
        int axis = Shapes.NormalizeAxis(Axis, data.Length, "GatherElements", Name);
        if (indices.Length != data.Length || indices.Where((d, i) => i != axis && d >= 0 && data[i] >= 0 && d > data[i]).Any())
            throw new ShapeException($"GatherElements '{Name}': indices {Shapes.Format(indices)} do not fit data {Shapes.Format(data)} (the same rank, no dim larger off axis {axis}).");
        return indices;
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] data = frame.Shape(Inputs[0]);
        GatherKernels.Elements(frame.Pointer(Inputs[0]), data, frame.Pointer(Inputs[1]), frame.Shape(Inputs[1]),
            Shapes.NormalizeAxis(Axis, data.Length, "GatherElements", Name), frame.Pointer(Output), Name);
    }

    internal override void WriteParameters(PlanWriter writer) => writer.Write(Axis);

    internal static GatherElementsLayer Read(string name, ValueRef[] inputs, PlanReader reader) => new(name, inputs[0], inputs[1], reader.ReadInt(-64, 63));
}
