using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// A binary elementwise operation with ONNX broadcasting; either operand may be a weight. Channels-last: the output
/// is 4-D NHWC and each operand either NHWC of the output's shape or one whose H and W are 1 (per-channel values,
/// the same memory in both layouts), so broadcasting runs over the dims in memory order.
/// </summary>
public sealed class ElementwiseLayer(string name, BinaryOp op, ValueRef a, ValueRef b) : Layer(name, [a, b])
{
    public override LayerKind Kind => LayerKind.Elementwise;
    public BinaryOp Operation { get; } = op;

    /// <summary>The output and its full-size operands are held channels-last; the builder decides.</summary>
    public bool ChannelsLast { get; internal set; }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => Shapes.Broadcast(inputShapes[0], inputShapes[1]);

    internal override object? CreateState(ExecutionFrame frame) => new BinaryJob();

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        var job = (BinaryJob)state!;
        if (!ChannelsLast)
        {
            job.Run(Operation, frame.Pointer(Inputs[0]), frame.Shape(Inputs[0]), frame.Pointer(Inputs[1]), frame.Shape(Inputs[1]), frame.Pointer(Output), frame.Shape(Output), frame.Pool);
            return;
        }
        Span<int> a = stackalloc int[4], b = stackalloc int[4], y = stackalloc int[4];
        MemoryShape(frame.Shape(Inputs[0]), a);
        MemoryShape(frame.Shape(Inputs[1]), b);
        MemoryShape(frame.Shape(Output), y);
        job.Run(Operation, frame.Pointer(Inputs[0]), a, frame.Pointer(Inputs[1]), b, frame.Pointer(Output), y, frame.Pool);
    }

    /// <summary>An NCHW shape (right-aligned to 4-D) in channels-last memory order: [N, H, W, C].</summary>
    private static void MemoryShape(int[] shape, Span<int> memory)
    {
        Span<int> nchw = [1, 1, 1, 1];
        shape.CopyTo(nchw[(4 - shape.Length)..]);
        (memory[0], memory[1], memory[2], memory[3]) = (nchw[0], nchw[2], nchw[3], nchw[1]);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)Operation);
        writer.Write(ChannelsLast);
    }

    internal static ElementwiseLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, reader.ReadEnum<BinaryOp>(), inputs[0], inputs[1]) { ChannelsLast = reader.ReadBool() };
}
