using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>MaxPool, AveragePool and their global forms over NCHW (2-D windows), or over channels-last memory.</summary>
public sealed class PoolLayer : Layer
{
    public PoolLayer(string name, ValueRef x, PoolKind kind, int[] kernel, int[] strides, int[] pads, int[] dilations, bool ceilMode, bool countIncludePad, AutoPad autoPad, bool global)
        : base(name, [x])
    {
        if (!global && (kernel.Length != 2 || strides.Length != 2 || pads.Length != 4 || dilations.Length != 2))
            throw new ArgumentException($"Pool '{name}': TrtEngine runs 2-D pools (kernel, strides, dilations of 2 values, pads of 4).");
        if (!global) WindowShape.CheckParameters($"Pool '{name}'", kernel, strides, pads, dilations);
        PoolKind = kind;
        Kernel = kernel;
        Strides = strides;
        Pads = pads;
        Dilations = dilations;
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
        AutoPad = autoPad;
        Global = global;
    }

    public override LayerKind Kind => LayerKind.Pool;
    public PoolKind PoolKind { get; }
    public int[] Kernel { get; }
    public int[] Strides { get; }
    public int[] Pads { get; }
    public int[] Dilations { get; }
    public bool CeilMode { get; }
    public bool CountIncludePad { get; }
    public AutoPad AutoPad { get; }
    public bool Global { get; }

    /// <summary>The input and output are 4-D and held channels-last (NHWC); the builder decides.</summary>
    public bool ChannelsLast { get; internal set; }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (Global)
        {
            if (x.Length < 3) throw new ShapeException($"Pool '{Name}': input {Shapes.Format(x)} has no spatial dimensions.");
            var y = (int[])x.Clone();
            for (int d = 2; d < y.Length; d++) y[d] = 1;
            return y;
        }
        if (x.Length != 4) throw new ShapeException($"Pool '{Name}': input {Shapes.Format(x)} must be 4-D (NCHW).");
        return [x[0], x[1], Size(x[2], 0, $"Pool '{Name}'").Output, Size(x[3], 1, $"Pool '{Name}'").Output];
    }

    private (int Output, int PadBegin, int PadEnd) Size(int extent, int d, string layer) =>
        WindowShape.Compute(extent, Kernel[d], Strides[d], Dilations[d], Pads[d], Pads[2 + d], AutoPad, CeilMode, layer);

    /// <summary>The window over an input of these dimensions giving an output of outH × outW (a pool that is not global).</summary>
    internal Window2D Window(int batch, int channels, int inH, int inW, int outH, int outW)
    {
        // The layer's name as it is: a call formats nothing (the shapes were checked when they were inferred).
        var (_, top, bottom) = Size(inH, 0, Name);
        var (_, left, right) = Size(inW, 1, Name);
        return new Window2D(batch, channels, inH, inW, outH, outW, Kernel[0], Kernel[1], Strides[0], Strides[1], top, left, Dilations[0], Dilations[1], bottom, right);
    }

    /// <summary>The channels-last kernels' operation.</summary>
    internal WindowOp Op => PoolKind == PoolKind.Max ? WindowOp.Max : WindowOp.Average;

    internal override object? CreateState(ExecutionFrame frame) =>
        ChannelsLast ? Global ? new GlobalPoolJob() : new ChannelsLastWindowJob() : new PoolJob();

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]), y = frame.Shape(Output);
        float* px = frame.Pointer(Inputs[0]), py = frame.Pointer(Output);
        if (Global && ChannelsLast)
        {
            ((GlobalPoolJob)state!).Run(PoolKind, px, py, x[0], x[2] * x[3], x[1], frame.Pool);
            return;
        }
        if (Global)
        {
            int planes = x[0] * x[1], size = (int)Shapes.ElementCount(x.AsSpan(2));
            if (PoolKind == PoolKind.Max) GlobalPoolKernels.Max(px, py, planes, size);
            else GlobalPoolKernels.Average(px, py, planes, size);
            return;
        }
        var window = Window(x[0], x[1], x[2], x[3], y[2], y[3]);
        if (ChannelsLast)
            ((ChannelsLastWindowJob)state!).Run(Op, px, null, null, null, default, CountIncludePad, py, window, frame.Pool);
        else
            ((PoolJob)state!).Run(PoolKind, px, py, window, CountIncludePad, frame.Pool);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)PoolKind);
        writer.Write(Kernel);
        writer.Write(Strides);
        writer.Write(Pads);
        writer.Write(Dilations);
        writer.Write(CeilMode);
        writer.Write(CountIncludePad);
        writer.Write((byte)AutoPad);
        writer.Write(Global);
        writer.Write(ChannelsLast);
    }

    internal static PoolLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        var kind = reader.ReadEnum<PoolKind>();
        int[] kernel = reader.ReadInt32Array(), strides = reader.ReadInt32Array(), pads = reader.ReadInt32Array(), dilations = reader.ReadInt32Array();
        bool ceil = reader.ReadBool(), includePad = reader.ReadBool();
        var autoPad = reader.ReadEnum<AutoPad>();
        bool global = reader.ReadBool(), channelsLast = reader.ReadBool();
        if (!global && (kernel.Length != 2 || kernel.Any(k => k < 1) || strides.Length != 2 || strides.Any(s => s < 1) || pads.Length != 4 || pads.Any(p => p < 0) || dilations.Length != 2 || dilations.Any(d => d < 1)))
            throw new PlanFormatException($"The plan is corrupt: pool '{name}' has a malformed window.");
        return new PoolLayer(name, inputs[0], kind, kernel, strides, pads, dilations, ceil, includePad, autoPad, global) { ChannelsLast = channelsLast };
    }
}
