using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// Changes a 4-D tensor's memory layout between NCHW and channels-last (NHWC) without changing its logical NCHW
/// shape. The builder inserts these at the edges of the region of layers that run channels-last.
/// </summary>
public sealed class ReformatLayer(string name, ValueRef x, bool toChannelsLast) : Layer(name, [x])
{
    public override LayerKind Kind => LayerKind.Reformat;

    /// <summary>True: NCHW in, NHWC out; false: the reverse.</summary>
    public bool ToChannelsLast { get; } = toChannelsLast;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        if (inputShapes[0].Length != 4) throw new ShapeException($"Reformat '{Name}': input {Shapes.Format(inputShapes[0])} is not 4-D.");
        return (int[])inputShapes[0].Clone();
    }

    internal override object? CreateState(ExecutionFrame frame) => new ReformatJob();

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]);
        ((ReformatJob)state!).Reformat(frame.Pointer(Inputs[0]), frame.Pointer(Output), x[0], x[1], x[2] * x[3], ToChannelsLast, frame.Pool);
    }

    internal override void WriteParameters(PlanWriter writer) => writer.Write(ToChannelsLast);

    internal static ReformatLayer Read(string name, ValueRef[] inputs, PlanReader reader) => new(name, inputs[0], reader.ReadBool());
}
