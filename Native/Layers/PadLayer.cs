using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX Pad with constant pads: <see cref="Pads"/> holds every axis's begin count, then every end count
/// (negative counts crop). Reflect and edge read back into the input; constant writes <see cref="Value"/>.
/// </summary>
public sealed class PadLayer(string name, ValueRef x, PadMode mode, long[] pads, float value) : Layer(name, [x])
{
    public override LayerKind Kind => LayerKind.Pad;
    public PadMode Mode { get; } = mode;
    public long[] Pads { get; } = pads;
    public float Value { get; } = value;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (x.Length > CopyKernels.MaxRank) throw new ShapeException($"Pad '{Name}': rank {x.Length} is above {CopyKernels.MaxRank}.");
        if (Pads.Length != 2 * x.Length) throw new ShapeException($"Pad '{Name}': {Pads.Length} pads for rank {x.Length}; expected {2 * x.Length}.");
        if (Pads.Any(p => Math.Abs(p) > int.MaxValue)) throw new ShapeException($"Pad '{Name}': a pad is out of range.");
        var y = new int[x.Length];
        for (int d = 0; d < x.Length; d++)
        {
            if (x[d] < 0)
            {
                y[d] = Shapes.Dynamic;
                continue;
            }
            long size = x[d] + Pads[d] + Pads[d + x.Length];
            if (size < 0 || size > int.MaxValue) throw new ShapeException($"Pad '{Name}': pads [{string.Join(", ", Pads)}] make dimension {d} of {Shapes.Format(x)} {size}.");
            if (Mode != PadMode.Constant && x[d] == 0 && size > 0) throw new ShapeException($"Pad '{Name}': cannot {Mode} pad the empty dimension {d}.");
            y[d] = (int)size;
        }
        return y;
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]), y = frame.Shape(Output);
        int rank = y.Length;
        if (rank == 0)
        {
            *frame.Pointer(Output) = *frame.Pointer(Inputs[0]);
            return;
        }
        long rows = Shapes.ElementCount(y.AsSpan(0, rank - 1));
        int width = y[^1], inWidth = x[^1];
        if (rows == 0 || width == 0) return;
        Span<nint> strides = stackalloc nint[rank];
        Span<int> index = stackalloc int[rank];
        CopyKernels.ContiguousStrides(x, strides);
        index.Clear();
        float* src = frame.Pointer(Inputs[0]), dst = frame.Pointer(Output);
        long begin = Pads[rank - 1];
        // The columns that read the input row in place: [first, last).
        int first = (int)Math.Clamp(begin, 0, width), last = (int)Math.Clamp(begin + inWidth, first, width);
        for (long row = 0; row < rows; row++, dst += width)
        {
            nint offset = 0;
            bool outside = false;
            for (int d = 0; d < rank - 1; d++)
            {
                long i = Source(index[d] - Pads[d], x[d]);
                if (i < 0) outside = true;
                offset += (nint)i * strides[d];
            }
            if (outside)
            {
                CopyKernels.Fill(dst, width, Value);
            }
            else
            {
                float* line = src + offset;
                for (int o = 0; o < first; o++) dst[o] = Read(line, o - begin, inWidth);
                CopyKernels.CopyBytes(line + (first - begin), dst + first, (last - first) * sizeof(float));
                for (int o = last; o < width; o++) dst[o] = Read(line, o - begin, inWidth);
            }
            for (int d = rank - 2; d >= 0 && ++index[d] == y[d]; d--) index[d] = 0;
        }
    }

    private unsafe float Read(float* line, long i, int n)
    {
        long s = Source(i, n);
        return s < 0 ? Value : line[s];
    }

    /// <summary>The input index an output position reads along a dim of length n, or -1 for the constant.</summary>
    private long Source(long i, int n)
    {
        if (i >= 0 && i < n) return i;
        switch (Mode)
        {
            case PadMode.Edge: return Math.Clamp(i, 0, n - 1);
            case PadMode.Reflect:
                if (n == 1) return 0;
                long period = 2L * (n - 1);
                i = ((i % period) + period) % period;
                return i < n ? i : period - i;
            default: return -1;
        }
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)Mode);
        writer.Write(Pads);
        writer.Write(Value);
    }

    internal static PadLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, inputs[0], reader.ReadEnum<PadMode>(), reader.ReadInt64Array(), reader.ReadSingle());
}
