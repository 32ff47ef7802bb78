using System.Runtime.Intrinsics;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// 2-D ONNX ConvTranspose on NCHW: inputs [x, W [C, Cout/groups, kh, kw], bias [Cout] or none]. Each input pixel
/// scatters its kernel-weighted value into the output; output planes run in parallel.
/// Pads are [top, left, bottom, right]; strides, dilations and output padding are [h, w].
/// </summary>
public sealed class ConvTransposeLayer : Layer
{
    public ConvTransposeLayer(string name, ValueRef x, ValueRef w, ValueRef bias, int[] strides, int[] pads, int[] dilations, int[] outputPadding, int groups)
        : base(name, [x, w, bias])
    {
        if (strides.Length != 2 || pads.Length != 4 || dilations.Length != 2 || outputPadding.Length != 2)
            throw new ArgumentException($"ConvTranspose '{name}': 2 strides, 4 pads, 2 dilations and 2 output paddings are needed.");
        Strides = strides;
        Pads = pads;
        Dilations = dilations;
        OutputPadding = outputPadding;
        Groups = groups;
    }

    public override LayerKind Kind => LayerKind.ConvTranspose;
    public int[] Strides { get; }
    public int[] Pads { get; }
    public int[] Dilations { get; }
    public int[] OutputPadding { get; }
    public int Groups { get; }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0], w = inputShapes[1], b = inputShapes[2];
        string me = $"ConvTranspose '{Name}'";
        if (x.Length != 4 || w.Length != 4) throw new ShapeException($"{me}: input {Shapes.Format(x)} and weight {Shapes.Format(w)} must be 4-D.");
        if (Groups < 1 || w[0] % Groups != 0 || (x[1] >= 0 && x[1] != w[0]))
            throw new ShapeException($"{me}: input {Shapes.Format(x)} does not fit weight {Shapes.Format(w)} with {Groups} groups.");
        if (Strides.Any(s => s < 1) || Dilations.Any(d => d < 1) || Pads.Any(p => p < 0) || OutputPadding.Any(p => p < 0))
            throw new ShapeException($"{me}: strides and dilations must be positive, pads and output padding not negative.");
        int channels = w[1] * Groups;
        if (!Inputs[2].IsNone && (b.Length != 1 || b[0] != channels)) throw new ShapeException($"{me}: bias {Shapes.Format(b)} does not have {channels} values.");
        var y = new[] { x[0], channels, Extent(x[2], 0), Extent(x[3], 1) };
        if ((y[2] == 0 && x[2] > 0) || (y[3] == 0 && x[3] > 0)) throw new ShapeException($"{me}: the output of {Shapes.Format(x)} would be empty.");
        return y;

        int Extent(int input, int axis)
        {
            if (input < 0) return Shapes.Dynamic;
            if (input == 0) return 0;
            long size = (long)Strides[axis] * (input - 1) + OutputPadding[axis] + (long)(w[2 + axis] - 1) * Dilations[axis] + 1 - Pads[axis] - Pads[axis + 2];
            if (size < 0 || size > int.MaxValue) throw new ShapeException($"{me}: output extent {size} along axis {axis + 2} is invalid.");
            return (int)size;
        }
    }

    internal override object? CreateState(ExecutionFrame frame) => new Job(this);

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        var job = (Job)state!;
        job.X = frame.Pointer(Inputs[0]);
        job.W = frame.Pointer(Inputs[1]);
        job.Bias = Inputs[2].IsNone ? null : frame.Pointer(Inputs[2]);
        job.Y = frame.Pointer(Output);
        job.XShape = frame.Shape(Inputs[0]);
        job.WShape = frame.Shape(Inputs[1]);
        job.YShape = frame.Shape(Output);
        frame.Pool.For(job.YShape[0] * job.YShape[1], job);
    }

    /// <summary>One output plane (image n, channel c) per task index.</summary>
    private sealed unsafe class Job(ConvTransposeLayer layer) : IParallelTask
    {
        public float* X, W, Bias, Y;
        public int[] XShape = [], WShape = [], YShape = [];

        public void Execute(int index)
        {
            int outChannels = YShape[1], n = index / outChannels, c = index % outChannels;
            int inH = XShape[2], inW = XShape[3], outH = YShape[2], outW = YShape[3];
            int kh = WShape[2], kw = WShape[3], perGroupOut = WShape[1], perGroupIn = XShape[1] / layer.Groups;
            int group = c / perGroupOut, oc = c % perGroupOut;
            int sh = layer.Strides[0], sw = layer.Strides[1], dh = layer.Dilations[0], dw = layer.Dilations[1];
            int top = layer.Pads[0], left = layer.Pads[1];
            float* y = Y + (long)index * outH * outW;
            new Span<float>(y, outH * outW).Fill(Bias == null ? 0f : Bias[c]);
            for (int ic = group * perGroupIn; ic < (group + 1) * perGroupIn; ic++)
            {
                float* x = X + ((long)n * XShape[1] + ic) * inH * inW;
                float* w = W + ((long)ic * perGroupOut + oc) * kh * kw;
                for (int i = 0; i < kh; i++)
                {
                    // Input rows whose output row oh = ih·sh − top + i·dh lies inside the output.
                    int offH = i * dh - top;
                    int ih0 = Math.Max(0, CeilDiv(-offH, sh)), ih1 = Math.Min(inH, CeilDiv(outH - offH, sh));
                    for (int j = 0; j < kw; j++)
                    {
                        float weight = w[i * kw + j];
                        int offW = j * dw - left;
                        int iw0 = Math.Max(0, CeilDiv(-offW, sw)), iw1 = Math.Min(inW, CeilDiv(outW - offW, sw));
                        if (iw1 <= iw0) continue;
                        for (int ih = ih0; ih < ih1; ih++)
                        {
                            float* row = y + (long)(ih * sh + offH) * outW + offW;
                            float* xr = x + (long)ih * inW;
                            if (sw == 1) Axpy(weight, xr + iw0, row + iw0, iw1 - iw0);
                            else for (int iw = iw0; iw < iw1; iw++) row[iw * sw] += weight * xr[iw];
                        }
                    }
                }
            }
        }

        private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

        private static void Axpy(float a, float* x, float* y, int n)
        {
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var va = Vector256.Create(a);
                for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(y + i) + va * Vector256.Load(x + i), y + i);
            }
            for (; i < n; i++) y[i] += a * x[i];
        }
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(Strides);
        writer.Write(Pads);
        writer.Write(Dilations);
        writer.Write(OutputPadding);
        writer.Write(Groups);
    }

    internal static ConvTransposeLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        int[] strides = reader.ReadInt32Array(), pads = reader.ReadInt32Array(), dilations = reader.ReadInt32Array(), outputPadding = reader.ReadInt32Array();
        if (strides.Length != 2 || pads.Length != 4 || dilations.Length != 2 || outputPadding.Length != 2)
            throw new PlanFormatException($"The plan is corrupt: ConvTranspose '{name}' has malformed parameters.");
        return new ConvTransposeLayer(name, inputs[0], inputs[1], inputs[2], strides, pads, dilations, outputPadding, reader.ReadPositiveInt());
    }
}
