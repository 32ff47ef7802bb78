using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// An inverted-residual block run as one layer (MobileNetV2's): expand 1×1 → depthwise → project 1×1 (+ residual), all
/// channels-last, computed band by band by <see cref="InvertedResidualJob"/> so the expanded and depthwise tensors never
/// exist whole. A network's stem (an im2col convolution) may take the expansion's place where the first block has none
/// (<see cref="Unfolds"/>). Without the projection (a squeeze-excitation block, EfficientNet's: its scale needs the
/// whole depthwise output before the projection can run) the layer is expand → depthwise and writes the depthwise
/// output; only the expanded tensor never exists. Inputs: [x, expand W, expand bias, depthwise W, depthwise bias, project W, project bias,
/// residual] (biases and residual may be none, and the last three without a projection). Each convolution keeps its own
/// packed weight, recipe, activation and GEMM tactic; the <see cref="ConvLayer"/>s hold those parameters (their own
/// operands are not used: these inputs are).
/// </summary>
public sealed class FusedInvertedResidualLayer : Layer
{
    /// <summary>The algorithm as users see it.</summary>
    public const string AlgorithmName = "fused inverted residual";

    public FusedInvertedResidualLayer(string name, ConvLayer expand, ConvLayer depthwise, ConvLayer? project)
        : base(name, [expand.X, expand.W, expand.Bias, depthwise.W, depthwise.Bias, project?.W ?? ValueRef.None, project?.Bias ?? ValueRef.None, project?.Residual ?? ValueRef.None])
    {
        Expand = expand;
        Depthwise = depthwise;
        Project = project;
    }

    public override LayerKind Kind => LayerKind.FusedInvertedResidual;
    public ConvLayer Expand { get; }
    public ConvLayer Depthwise { get; }

    /// <summary>The projection, or null when the layer ends with the depthwise convolution.</summary>
    public ConvLayer? Project { get; }

    public ValueRef X => Inputs[0];
    public ValueRef Residual => Inputs[7];

    /// <summary>
    /// Whether to fuse without timing: on more than one thread (one dispatch instead of three, and no tensor handed
    /// between cores; MobileNetV2's blocks ran 1.15–2.4× faster fused on two), or when one image of the expanded tensor is
    /// larger than a core's L2 cache, which the separate layers would write out and read back (its first block ran
    /// 1.2–1.3× faster fused on one thread, the smaller blocks alike either way).
    /// </summary>
    internal static bool FusesByRule(int[] expanded, int threads) =>
        threads > 1 || (long)expanded[1] * expanded[2] * expanded[3] * sizeof(float) > 1 << 20;

    /// <summary>The convolutions reading this layer's current operands (copies, for checks that take a convolution).</summary>
    internal ConvLayer[] BoundConvolutions() => Project is null
        ? [Bind(Expand, X, 1, ValueRef.None), Bind(Depthwise, ValueRef.None, 3, ValueRef.None)]
        : [Bind(Expand, X, 1, ValueRef.None), Bind(Depthwise, ValueRef.None, 3, ValueRef.None), Bind(Project, ValueRef.None, 5, Residual)];

    private ConvLayer Bind(ConvLayer part, ValueRef x, int weight, ValueRef residual)
    {
        var copy = (ConvLayer)part.Clone();
        copy.Inputs = [x, Inputs[weight], Inputs[weight + 1], residual, ValueRef.None];
        return copy;
    }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] expanded = Expand.InferShape([inputShapes[0], inputShapes[1], inputShapes[2], [], []]);
        int[] depthwise = Depthwise.InferShape([expanded, inputShapes[3], inputShapes[4], [], []]);
        return Project is null ? depthwise : Project.InferShape([depthwise, inputShapes[5], inputShapes[6], inputShapes[7], []]);
    }

    /// <summary>Whether the expansion is a convolution other than 1×1 (a network's stem), whose rows are computed through unfolded blocks.</summary>
    public bool Unfolds => Expand.Algorithm == ConvAlgorithm.Im2ColGemm;

    /// <summary>The depthwise convolution's window, and the expansion's where it <see cref="Unfolds"/>.</summary>
    private (Window2D Depthwise, Window2D? Unfold) Windows(ExecutionFrame frame)
    {
        int[] x = frame.Shape(X);
        var expand = Expand.Window(x[0], x[1], x[2], x[3]);
        return (Depthwise.Window(x[0], frame.Shape(Inputs[3])[0], expand.OutH, expand.OutW), Unfolds ? expand : null);
    }

    internal override object? CreateState(ExecutionFrame frame) => new InvertedResidualJob(frame.Pool.ThreadCount);

    internal override long WorkspaceLength(ExecutionFrame frame)
    {
        var (depthwise, unfold) = Windows(frame);
        return InvertedResidualJob.WorkspaceLength(depthwise, frame.Pool.ThreadCount, unfold);
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        float* Pointer(ValueRef v) => v.IsNone ? null : frame.Pointer(v);
        PointwiseStage Stage(ConvLayer? conv, int weight) => conv is null ? default :
            new(GemmKernels.Tactics[conv.TacticId], frame.Pointer(Inputs[weight]), Pointer(Inputs[weight + 1]), conv.Activation);
        var (window, unfold) = Windows(frame);
        ((InvertedResidualJob)state!).Run(frame.Pointer(X), frame.Shape(X)[1], Stage(Expand, 1), window, frame.Pointer(Inputs[3]),
            Pointer(Inputs[4]), Depthwise.Activation, Stage(Project, 5), Project is null ? window.Channels : frame.Shape(Inputs[5])[0], Pointer(Residual),
            frame.Pointer(Output), frame.Workspace, frame.Pool, unfold);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(Project is not null);
        foreach (var conv in Project is null ? [Expand, Depthwise] : new[] { Expand, Depthwise, Project })
            conv.WritePart(writer);
    }

    internal static FusedInvertedResidualLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        ConvLayer Part(ValueRef x, int weight, ValueRef residual) =>
            ConvLayer.ReadPart(reader, [x, inputs[weight], inputs[weight + 1], residual, ValueRef.None]);
        bool projects = reader.ReadBool();
        if (!projects && !(inputs[5].IsNone && inputs[6].IsNone && inputs[7].IsNone))
            throw new PlanFormatException($"The plan is inconsistent: fused layer '{name}' has no projection but reads its operands.");
        var expand = Part(inputs[0], 1, ValueRef.None);
        var depthwise = Part(ValueRef.None, 3, ValueRef.None);
        return new FusedInvertedResidualLayer(name, expand, depthwise, projects ? Part(ValueRef.None, 5, inputs[7]) : null);
    }
}
