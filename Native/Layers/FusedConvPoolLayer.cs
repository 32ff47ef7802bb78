using TrtEngine.Native.Kernels;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// A channels-last im2col convolution and the max or average pool that alone reads its output, run as one layer by
/// <see cref="ConvPoolJob"/>, band by band, so the convolution's output never exists whole (a stem's: SqueezeNet's and
/// ResNet's). Inputs: [x, W, bias] (the bias may be none). The <see cref="ConvLayer"/> and <see cref="PoolLayer"/> hold
/// the parameters, tactic and activation (their own operands are not used: these inputs are).
/// </summary>
public sealed class FusedConvPoolLayer : Layer
{
    /// <summary>The algorithm as users see it.</summary>
    public const string AlgorithmName = "fused convolution and pool";

    public FusedConvPoolLayer(string name, ConvLayer conv, PoolLayer pool) : base(name, [conv.X, conv.W, conv.Bias])
    {
        Conv = conv;
        Pool = pool;
    }

    public override LayerKind Kind => LayerKind.FusedConvPool;
    public ConvLayer Conv { get; }
    public PoolLayer Pool { get; }
    public ValueRef X => Inputs[0];

    /// <summary>
    /// Whether the builder fuses a convolution whose output image (<paramref name="convOutput"/>, NCHW) is larger than a
    /// core's L2 cache: run apart, the convolution writes it to memory and the pool reads it back.
    /// </summary>
    internal static bool FusesByRule(int[] convOutput) => (long)convOutput[1] * convOutput[2] * convOutput[3] * sizeof(float) > 1 << 20;

    /// <summary>The convolution reading this layer's current operands (a copy, for checks that take a convolution).</summary>
    internal ConvLayer BoundConvolution()
    {
        var copy = (ConvLayer)Conv.Clone();
        copy.Inputs = [Inputs[0], Inputs[1], Inputs[2], ValueRef.None, ValueRef.None];
        return copy;
    }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes) =>
        Pool.InferShape([Conv.InferShape([inputShapes[0], inputShapes[1], inputShapes[2], [], []])]);

    private (Window2D Conv, Window2D Pool) Windows(ExecutionFrame frame)
    {
        int[] x = frame.Shape(X), y = frame.Shape(Output);
        var conv = Conv.Window(x[0], x[1], x[2], x[3]);
        return (conv, Pool.Window(x[0], y[1], conv.OutH, conv.OutW, y[2], y[3]));
    }

    internal override object? CreateState(ExecutionFrame frame) => new ConvPoolJob(frame.Pool.ThreadCount);

    internal override long WorkspaceLength(ExecutionFrame frame)
    {
        var (conv, pool) = Windows(frame);
        return ConvPoolJob.WorkspaceLength(conv, pool, frame.Pool.ThreadCount);
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        var (conv, pool) = Windows(frame);
        ((ConvPoolJob)state!).Run(frame.Pointer(X), conv, GemmKernels.Tactics[Conv.TacticId], frame.Pointer(Inputs[1]), Inputs[2].IsNone ? null : frame.Pointer(Inputs[2]),
            Conv.Activation, Pool.Op, Pool.CountIncludePad, pool, frame.Pointer(Output), frame.Workspace, frame.Pool);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        Conv.WritePart(writer);
        writer.Write(Pool.Name);
        Pool.WriteParameters(writer);
    }

    internal static FusedConvPoolLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        var conv = ConvLayer.ReadPart(reader, [inputs[0], inputs[1], inputs[2], ValueRef.None, ValueRef.None]);
        var pool = PoolLayer.Read(reader.ReadString(), [ValueRef.None], reader);
        return new FusedConvPoolLayer(name, conv, pool);
    }
}
