using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// 2-D convolution, NCHW: y = act(conv(x · s, W) + bias + residual). Inputs: [x, W, bias or none, residual or none,
/// channel scale s or none]; the builder sets s (a per-image, per-input-channel scale) only on channels-last 1×1 GEMM
/// convolutions, which fold it into the weight's rows rather than multiply x by it.
/// W is [outC, inC/groups, kh, kw]. Depthwise convolutions run a direct kernel; the others run im2col and a GEMM
/// (1×1 stride-1 convolutions skip im2col) with bias, residual and activation in the GEMM's epilogue.
/// Channels-last (the builder's choice; x, y and the residual NHWC): depthwise runs a direct kernel vectorised over
/// channels, as do groups of 2 or 4 channels (<see cref="ConvAlgorithm.GroupedDirect"/>), the others a GEMM whose A is the image (1×1), its channels-last im2col, or (one panel of outputs: stems,
/// groups of 8 or 16) the windows read from a band of the input, and whose B is the weight, pre-packed at build and refit time, or (3×3, stride 1, one group, when the builder timed it faster) Winograd
/// F(4×4, 3×3), F(3×3, 3×3) or F(2×2, 3×3), whose 36, 25 or 16 GEMMs read the weight transformed and packed at build and refit time.
/// </summary>
public sealed class ConvLayer : Layer
{
    public ConvLayer(string name, ValueRef x, ValueRef w, ValueRef bias, int[] kernel, int[] strides, int[] pads, int[] dilations, int groups, AutoPad autoPad)
        : base(name, [x, w, bias, ValueRef.None, ValueRef.None])
    {
        if (kernel.Length != 2 || strides.Length != 2 || pads.Length != 4 || dilations.Length != 2 || groups < 1)
            throw new ArgumentException($"Conv '{name}': TrtEngine runs 2-D convolutions (kernel, strides, dilations of 2 values, pads of 4).");
        WindowShape.CheckParameters($"Conv '{name}'", kernel, strides, pads, dilations);
        KernelH = kernel[0];
        KernelW = kernel[1];
        Strides = strides;
        Pads = pads;
        Dilations = dilations;
        Groups = groups;
        AutoPad = autoPad;
    }

    public override LayerKind Kind => LayerKind.Conv;
    public int KernelH { get; }
    public int KernelW { get; }
    public int[] Strides { get; }

    /// <summary>[top, left, bottom, right].</summary>
    public int[] Pads { get; }

    public int[] Dilations { get; }
    public int Groups { get; }
    public AutoPad AutoPad { get; }
    public Activation Activation { get; internal set; } = Activation.Identity;

    /// <summary>x, y and the residual are held channels-last (NHWC) and W is packed by a PackConv recipe.</summary>
    public bool ChannelsLast { get; internal set; }

    /// <summary>
    /// x is held NCHW though the layer is channels-last (y NHWC): a first layer whose GEMM reads its windows from a band
    /// interleaves the input's planes as it copies them there, so the builder drops the reformat in front of it.
    /// </summary>
    public bool PlanarInput { get; internal set; }

    /// <summary>The algorithm the builder chose (timed, or by <see cref="RuleAlgorithm"/>).</summary>
    public ConvAlgorithm Algorithm { get; internal set; }

    /// <summary>The GEMM tactic the builder timed fastest for this layer; -1 for depthwise layers (no GEMM).</summary>
    public int TacticId { get; internal set; } = -1;

    /// <summary>A BatchNormalization folded into this convolution at build time (network form only; the plan keeps recipes).</summary>
    internal BatchNormLayer? FoldedBatchNorm { get; set; }

    public ValueRef X => Inputs[0];
    public ValueRef W => Inputs[1];
    public ValueRef Bias => Inputs[2];
    public ValueRef Residual => Inputs[3];

    /// <summary>[N or 1, inC, 1, 1]: x's channels of image n are multiplied by s[n] (a squeeze-excitation's scale).</summary>
    public ValueRef ChannelScale => Inputs[4];

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0], w = inputShapes[1];
        if (x.Length != 4 || w.Length != 4) throw new ShapeException($"Conv '{Name}': input {Shapes.Format(x)} and weight {Shapes.Format(w)} must be 4-D (NCHW, OIHW).");
        if (w[2] != KernelH || w[3] != KernelW) throw new ShapeException($"Conv '{Name}': weight {Shapes.Format(w)} does not match kernel {KernelH}×{KernelW}.");
        if (w[0] % Groups != 0 || (x[1] >= 0 && x[1] != w[1] * Groups))
            throw new ShapeException($"Conv '{Name}': input channels {x[1]} and weight {Shapes.Format(w)} do not fit {Groups} groups.");
        // The kernels read one bias value per output channel.
        if (!Bias.IsNone && !(inputShapes[2] is [var b] && b == w[0]))
            throw new ShapeException($"Conv '{Name}': bias {Shapes.Format(inputShapes[2])} does not have the {w[0]} values of the output channels.");
        var (oh, _, _) = WindowShape.Compute(x[2], KernelH, Strides[0], Dilations[0], Pads[0], Pads[2], AutoPad, false, $"Conv '{Name}'");
        var (ow, _, _) = WindowShape.Compute(x[3], KernelW, Strides[1], Dilations[1], Pads[1], Pads[3], AutoPad, false, $"Conv '{Name}'");
        int[] y = [x[0], w[0], oh, ow];
        if (!Residual.IsNone && !inputShapes[3].AsSpan().SequenceEqual(y) && Shapes.IsStatic(y))
            throw new ShapeException($"Conv '{Name}': the residual {Shapes.Format(inputShapes[3])} does not match the output {Shapes.Format(y)}.");
        if (!ChannelScale.IsNone && !(inputShapes[4] is [var n, var c, 1, 1] && (n == 1 || n == x[0]) && c == x[1]))
            throw new ShapeException($"Conv '{Name}': the channel scale {Shapes.Format(inputShapes[4])} is not one value per channel of the input {Shapes.Format(x)}, per image or for all.");
        return y;
    }

    /// <summary>The window from the input shape x (the output shape y follows from it).</summary>
    internal Window2D Window(int[] x, int[] y) => Window(x[0], x[1], x[2], x[3]);

    /// <summary>The window over an input of these dimensions (the output's height and width follow from them).</summary>
    internal Window2D Window(int batch, int channels, int inH, int inW)
    {
        var (outH, top, bottom) = WindowShape.Compute(inH, KernelH, Strides[0], Dilations[0], Pads[0], Pads[2], AutoPad, false, Name);
        var (outW, left, right) = WindowShape.Compute(inW, KernelW, Strides[1], Dilations[1], Pads[1], Pads[3], AutoPad, false, Name);
        return new(batch, channels, inH, inW, outH, outW, KernelH, KernelW, Strides[0], Strides[1], top, left, Dilations[0], Dilations[1], bottom, right)
            { PlanarInput = PlanarInput };
    }

    /// <summary>The algorithm as users see it, with the layout: "nhwc winograd f(4x4,3x3)", "depthwise", ….</summary>
    public string AlgorithmName => (ChannelsLast ? "nhwc " : "") + Algorithm switch
    {
        ConvAlgorithm.Depthwise => "depthwise",
        ConvAlgorithm.GroupedDirect => "grouped direct",
        ConvAlgorithm.PointwiseGemm => "1x1 gemm",
        ConvAlgorithm.Winograd4x4 => "winograd f(4x4,3x3)",
        ConvAlgorithm.Winograd3x3 => "winograd f(3x3,3x3)",
        ConvAlgorithm.Winograd2x2 => "winograd f(2x2,3x3)",
        _ => "im2col gemm",
    };

    /// <summary>
    /// The algorithm the shape dictates when nothing is timed: depthwise direct, groups of 2 or 4 direct (channels-last),
    /// 1×1 as a GEMM, or im2col + GEMM.
    /// </summary>
    public ConvAlgorithm RuleAlgorithm(int[] weightShape) =>
        IsDepthwiseWeight(weightShape) ? ConvAlgorithm.Depthwise
        : ChannelsLast && IsSmallGroupWeight(weightShape) ? ConvAlgorithm.GroupedDirect
        : IsPointwise ? ConvAlgorithm.PointwiseGemm : ConvAlgorithm.Im2ColGemm;

    /// <summary>The algorithms that compute this convolution in its layout: the rule's, and the Winograd ones where they apply.</summary>
    public IReadOnlyList<ConvAlgorithm> Candidates(int[] weightShape) =>
        SupportsWinograd ? [RuleAlgorithm(weightShape), ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd3x3, ConvAlgorithm.Winograd2x2] : [RuleAlgorithm(weightShape)];

    /// <summary>The output tile of a Winograd algorithm (4, 3 or 2); 0 for the others.</summary>
    private static int WinogradTile(ConvAlgorithm algorithm) => ConvWeightPacking.WinogradTile(PackingOf(algorithm));

    /// <summary>
    /// The algorithm used without timing (level 0, a forced tactic), where Winograd applies to at least 16 input and
    /// output channels: F(4×4) where the batch gives at least 16 of its tiles and one per 4,096 channel pairs (its
    /// transformed weight is 4× the size, so few tiles over many channels would be bound by reading it), else F(2×2)
    /// where it gives 16 tiles and one per 16,384 channel pairs (a weight 16/9 the size: ResNet's 512-channel layers at
    /// 7×7, batch 1); otherwise the rule's. F(3×3) is left to timing: in SqueezeNet and ResNet-18 it ran no faster in the
    /// network than whichever of the other two the rule picks.
    /// </summary>
    internal ConvAlgorithm HeuristicAlgorithm(int[] x, int[] w)
    {
        if (!SupportsWinograd || w[0] < 16 || w[1] < 16) return RuleAlgorithm(w);
        long pairs = (long)w[0] * w[1];
        return Tiles(x, 4) >= Math.Max(16, pairs / 4096) ? ConvAlgorithm.Winograd4x4
            : Tiles(x, 2) >= Math.Max(16, pairs / 16384) ? ConvAlgorithm.Winograd2x2
            : RuleAlgorithm(w);
    }

    /// <summary>Winograd tiles of this size over the output of an input of shape x.</summary>
    private long Tiles(int[] x, int tile) => WinogradJob.Tiles(tile, Window(x[0], x[1], x[2], x[3]));

    /// <summary>3×3, stride 1, dilation 1, one group, channels-last (any pads).</summary>
    private bool SupportsWinograd => ChannelsLast && KernelH == 3 && KernelW == 3 && Groups == 1 &&
        Strides.All(s => s == 1) && Dilations.All(d => d == 1);

    /// <summary>
    /// Whether its kernel can write the output as a channel range of a wider channels-last tensor (into a concat's output):
    /// the channels-last GEMM and Winograd kernels can (one group), the depthwise and NCHW kernels cannot.
    /// </summary>
    public bool CanWriteStridedOutput => ChannelsLast && Groups == 1;

    /// <summary>
    /// Whether a channels-last kernel exists for this convolution: depthwise, one group, or groups whose output channels
    /// fill whole column panels of some tactic (each group's GEMM then reads its own panels of the weight packed whole).
    /// </summary>
    public bool SupportsChannelsLast(int[] weightShape) =>
        Groups == 1 || IsDepthwiseWeight(weightShape) || IsSmallGroupWeight(weightShape) || GemmKernels.Tactics.Any(t => t.IsSupported && GroupsFillPanels(t, weightShape));

    /// <summary>Whether the convolution can run with a GEMM tactic: any, but where it runs channels-last in groups (not depthwise), one whose panels its groups fill.</summary>
    internal bool Fits(GemmTactic tactic, int[] weightShape) =>
        !ChannelsLast || Groups == 1 || IsDepthwiseWeight(weightShape) || IsSmallGroupWeight(weightShape) || GroupsFillPanels(tactic, weightShape);

    private bool GroupsFillPanels(GemmTactic tactic, int[] weightShape) => weightShape[0] / Groups % tactic.Nr == 0;

    /// <summary>The weight layout of the channels-last kernel of the chosen algorithm.</summary>
    public ConvPacking Packing => PackingOf(Algorithm);

    /// <summary>The weight layout of an algorithm's channels-last kernel.</summary>
    internal static ConvPacking PackingOf(ConvAlgorithm algorithm) => algorithm switch
    {
        ConvAlgorithm.Depthwise or ConvAlgorithm.GroupedDirect => ConvPacking.Depthwise,
        ConvAlgorithm.Winograd4x4 => ConvPacking.Winograd4x4,
        ConvAlgorithm.Winograd3x3 => ConvPacking.Winograd3x3,
        ConvAlgorithm.Winograd2x2 => ConvPacking.Winograd2x2,
        _ => ConvPacking.Gemm,
    };

    private bool IsDepthwiseWeight(int[] weightShape) => Groups > 1 && weightShape[1] == 1 && weightShape[0] == Groups;

    /// <summary>Groups of as many outputs as inputs, 2 or 4 of each: what <see cref="GroupedConvJob"/> computes.</summary>
    private bool IsSmallGroupWeight(int[] weightShape) =>
        Groups > 1 && GroupedConvJob.Supports(weightShape[1]) && weightShape[0] == Groups * weightShape[1];

    private bool IsDepthwise(int[] x, int outChannels) => Groups > 1 && Groups == x[1] && outChannels == Groups;

    private bool IsPointwise => KernelH == 1 && KernelW == 1 && Strides[0] == 1 && Strides[1] == 1 && Pads.All(p => p == 0) && AutoPad != AutoPad.SameLower;

    internal override object? CreateState(ExecutionFrame frame) => new ConvState();

    /// <summary>The tactic used without timing, from the GEMM's dimensions at these shapes.</summary>
    internal GemmTactic HeuristicTactic(int[] x, int[] w)
    {
        int p = WindowOutput(x, 0) * WindowOutput(x, 1);
        if (WinogradTile(Algorithm) is > 0 and var tile)
            return GemmKernels.Heuristic(WinogradJob.BlockTiles(tile, Tiles(x, tile), w[1], w[0]), w[0], w[1]);
        if (!ChannelsLast) return GemmKernels.Heuristic(w[0] / Groups, p, w[1] * KernelH * KernelW);
        var tactic = GemmKernels.Heuristic(p, w[0] / Groups, w[1] * KernelH * KernelW);
        return Fits(tactic, w) ? tactic : GemmKernels.Tactics.First(t => t.IsSupported && Fits(t, w));
    }

    private int WindowOutput(int[] x, int d) =>
        WindowShape.Compute(x[2 + d], d == 0 ? KernelH : KernelW, Strides[d], Dilations[d], Pads[d], Pads[2 + d], AutoPad, false, Name).Output;

    private GemmTactic ChosenTactic(int[] x, int[] w) => TacticId >= 0 ? GemmKernels.Tactics[TacticId] : HeuristicTactic(x, w);

    internal override long WorkspaceLength(ExecutionFrame frame)
    {
        int[] x = frame.Shape(X), y = frame.Shape(Output);
        if (IsDepthwise(x, y[1]) || Algorithm == ConvAlgorithm.GroupedDirect) return 0;
        int k = x[1] / Groups * KernelH * KernelW, p = y[2] * y[3];
        if (ChannelsLast && WinogradTile(Algorithm) is > 0 and var tile) return WinogradJob.WorkspaceLength(tile, Window(x, y), y[1]);
        // Each group's GEMM unfolds its rows block by block (a 1×1 convolution reads the input as it is).
        if (ChannelsLast && Groups > 1)
            return IsPointwise ? 0 : GemmJob.GroupedUnfoldScratchLength(k, ChosenTactic(x, frame.Shape(W)), frame.Pool.ThreadCount);
        // A first layer (few channels, many pixels) unfolds its rows block by block on the GEMM's threads; the others
        // unfold the whole im2col matrix first.
        if (ChannelsLast)
            return IsPointwise ? (ChannelScale.IsNone ? 0 : GemmJob.MatMulWorkspaceLength(k, y[1], ChosenTactic(x, frame.Shape(W)), frame.Pool.ThreadCount))
                : GemmJob.UnfoldScratchLength(Window(x, y), ChosenTactic(x, frame.Shape(W)), frame.Pool.ThreadCount) is > 0 and var scratch ? scratch : (long)k * p;
        var tactic = ChosenTactic(x, frame.Shape(W));
        return (IsPointwise ? 0 : (long)k * Groups * p) + GemmJob.MatMulWorkspaceLength(k, p, tactic, frame.Pool.ThreadCount);
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        var s = (ConvState)state!;
        int[] x = frame.Shape(X), y = frame.Shape(Output);
        var window = Window(x, y);
        float* px = frame.Pointer(X), py = frame.Pointer(Output), pw = frame.Pointer(W);
        float* bias = Bias.IsNone ? null : frame.Pointer(Bias), residual = Residual.IsNone ? null : frame.Pointer(Residual);
        if (ChannelsLast)
        {
            ExecuteChannelsLast(frame, s, x, y, window, px, pw, bias, residual, py);
            return;
        }
        if (IsDepthwise(x, y[1]))
        {
            s.Depthwise.Run(px, pw, bias, residual, Activation, py, window, frame.Pool);
            return;
        }
        int outPerGroup = y[1] / Groups, k = x[1] / Groups * KernelH * KernelW, p = y[2] * y[3];
        long inImage = (long)x[1] * x[2] * x[3], outImage = (long)y[1] * p;
        var tactic = ChosenTactic(x, frame.Shape(W));
        // The image's unfold holds the groups' [k, p] matrices one after another, as its channels are: one dispatch
        // runs every group's GEMM.
        float* col = frame.Workspace, gemmWorkspace = IsPointwise ? frame.Workspace : frame.Workspace + (long)k * Groups * p;
        Span<int> aShape = [Groups, outPerGroup, k], bShape = [Groups, k, p], yShape = [Groups, outPerGroup, p];
        for (int n = 0; n < x[0]; n++)
        {
            float* image = px + n * inImage;
            if (!IsPointwise) s.Unfold.RunNchw(image, x[1], window, col, frame.Pool);
            // Bias, residual and activation are applied in the GEMM's epilogue, while each tile is in cache.
            s.Gemm.RunMatMul(tactic, pw, aShape, IsPointwise ? image : col, bShape, py + n * outImage, yShape, gemmWorkspace, frame.Pool,
                bias, residual == null ? null : residual + n * outImage, Activation);
        }
    }

    private unsafe void ExecuteChannelsLast(ExecutionFrame frame, ConvState s, int[] x, int[] y, in Window2D window,
        float* px, float* pw, float* bias, float* residual, float* py)
    {
        if (IsDepthwise(x, y[1]))
        {
            s.Window.Run(WindowOp.Depthwise, px, pw, bias, residual, Activation, false, py, window, frame.Pool);
            return;
        }
        if (Algorithm == ConvAlgorithm.GroupedDirect)
        {
            s.Grouped.Run(px, pw, bias, residual, Activation, x[1] / Groups, py, window, frame.Pool);
            return;
        }
        var tactic = ChosenTactic(x, frame.Shape(W));
        // Output pixels lie this far apart: wider than y[1] when the output is a channel range of a concat's.
        int ldy = frame.PixelStride(Output);
        if (WinogradTile(Algorithm) is > 0 and var tile)
        {
            s.Winograd.Run(tile, tactic, px, pw, bias, residual, Activation, py, ldy, window, y[1], frame.Workspace, frame.Pool);
            return;
        }
        int k = x[1] * KernelH * KernelW, p = y[2] * y[3];
        // The whole output tensor (a concat's, when this layer writes a channel range of it) against what the caches keep.
        bool stream = (long)x[0] * p * ldy > GemmJob.StreamOutputFloats;
        long inImage = (long)x[1] * x[2] * x[3], outImage = (long)y[1] * p;
        if (Groups > 1)
        {
            // Group g's GEMM reads its channels of each pixel (a 1×1 convolution's, the batch in its rows) or of each window.
            int n = y[1] / Groups;
            if (IsPointwise)
            {
                s.Gemm.RunGrouped(tactic, px, x[0] * p, k / Groups, x[1], pw, n, Groups, bias, Activation, py, ldy, residual, frame.Pool, stream);
                return;
            }
            for (int image = 0; image < x[0]; image++)
                s.Gemm.RunGroupedUnfolded(tactic, px + image * inImage, window, Groups, pw, n, bias, Activation, py + (long)image * p * ldy, ldy,
                    residual == null ? null : residual + image * outImage, frame.Workspace, frame.Pool, stream);
            return;
        }
        if (IsPointwise && !ChannelScale.IsNone)
        {
            float* scale = frame.Pointer(ChannelScale);
            int scaleStride = frame.Shape(ChannelScale)[0] == 1 ? 0 : k;
            s.Gemm.RunChannelScaled(tactic, px, x[0], p, k, pw, y[1], bias, Activation, py, ldy, residual, scale, scaleStride, frame.Workspace, frame.Pool);
            return;
        }
        if (IsPointwise)
        {
            // The batch folds into the GEMM's rows: [N·H·W, inC] × [inC, outC].
            s.Gemm.Run(tactic, px, x[0] * p, k, false, pw, y[1], bias, Activation, py, frame.Pool, residual, ldy, stream);
            return;
        }
        bool unfoldPerBlock = GemmJob.UnfoldScratchLength(window, tactic, frame.Pool.ThreadCount) > 0;
        for (int n = 0; n < x[0]; n++)
        {
            if (unfoldPerBlock)
            {
                s.Gemm.RunUnfolded(tactic, px + n * inImage, window, pw, y[1], bias, Activation, py + (long)n * p * ldy, ldy,
                    residual == null ? null : residual + n * outImage, frame.Workspace, frame.Pool, stream);
                continue;
            }
            s.Unfold.RunChannelsLast(px + n * inImage, x[1], window, frame.Workspace, frame.Pool);
            s.Gemm.Run(tactic, frame.Workspace, p, k, false, pw, y[1], bias, Activation, py + (long)n * p * ldy, frame.Pool,
                residual == null ? null : residual + n * outImage, ldy, stream);
        }
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(KernelH);
        writer.Write(KernelW);
        writer.Write(Strides);
        writer.Write(Pads);
        writer.Write(Dilations);
        writer.Write(Groups);
        writer.Write((byte)AutoPad);
        writer.Write(Activation);
        writer.Write(TacticId);
        writer.Write(ChannelsLast);
        writer.Write((byte)Algorithm);
        writer.Write(PlanarInput);
    }

    /// <summary>Writes this convolution as a part of a fused layer: its name, tactic and time, then its parameters.</summary>
    internal void WritePart(PlanWriter writer)
    {
        writer.Write(Name);
        writer.Write(Tactic ?? "");
        writer.Write(TacticMicroseconds);
        WriteParameters(writer);
    }

    /// <summary>Reads a convolution <see cref="WritePart"/> wrote, reading <paramref name="inputs"/>.</summary>
    internal static ConvLayer ReadPart(PlanReader reader, ValueRef[] inputs)
    {
        string name = reader.ReadString(), tactic = reader.ReadString();
        double microseconds = reader.ReadDouble();
        var conv = Read(name, inputs, reader);
        conv.Tactic = tactic.Length == 0 ? null : tactic;
        conv.TacticMicroseconds = microseconds;
        return conv;
    }

    internal static ConvLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        int kh = reader.ReadInt(1, 1 << 16), kw = reader.ReadInt(1, 1 << 16);
        int[] strides = reader.ReadInt32Array(), pads = reader.ReadInt32Array(), dilations = reader.ReadInt32Array();
        if (strides.Length != 2 || pads.Length != 4 || dilations.Length != 2 || strides.Any(v => v < 1) || dilations.Any(v => v < 1) || pads.Any(v => v < 0))
            throw new PlanFormatException($"The plan is corrupt: convolution '{name}' has malformed strides, pads or dilations.");
        var layer = new ConvLayer(name, inputs[0], inputs[1], inputs[2], [kh, kw], strides, pads, dilations, reader.ReadInt(1, 1 << 20), reader.ReadEnum<AutoPad>())
        {
            Activation = reader.ReadActivation(),
            TacticId = reader.ReadInt(-1, GemmKernels.Tactics.Count - 1),
            ChannelsLast = reader.ReadBool(),
            Algorithm = reader.ReadEnum<ConvAlgorithm>(),
            PlanarInput = reader.ReadBool(),
        };
        layer.Inputs[3] = inputs[3];
        layer.Inputs[4] = inputs[4];
        return layer;
    }

    private sealed class ConvState
    {
        public GemmJob Gemm { get; } = new();
        public DepthwiseConvJob Depthwise { get; } = new();
        public ChannelsLastWindowJob Window { get; } = new();
        public GroupedConvJob Grouped { get; } = new();
        public Im2ColJob Unfold { get; } = new();
        public WinogradJob Winograd { get; } = new();
    }
}
