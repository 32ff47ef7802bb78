using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX Slice with constant starts, ends, axes and steps: negative indices count from the end, out-of-range
/// indices clamp, negative steps walk backwards. Axes may be negative; each axis at most once. A channels-last
/// slice reads and writes 4-D channels-last tensors.
/// </summary>
public sealed class SliceLayer : Layer
{
    public SliceLayer(string name, ValueRef x, long[] starts, long[] ends, long[] axes, long[] steps) : base(name, [x])
    {
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new ArgumentException($"Slice '{name}': starts, ends, axes and steps need one entry per axis.");
        Starts = starts;
        Ends = ends;
        Axes = axes;
        Steps = steps;
    }

    public override LayerKind Kind => LayerKind.Slice;
    public long[] Starts { get; }
    public long[] Ends { get; }
    public long[] Axes { get; }
    public long[] Steps { get; }

    /// <summary>Input and output are 4-D and held channels-last; the builder decides.</summary>
    public bool ChannelsLast { get; internal set; }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (x.Length > CopyKernels.MaxRank) throw new ShapeException($"Slice '{Name}': rank {x.Length} is above {CopyKernels.MaxRank}.");
        if (ChannelsLast && x.Length != 4) throw new ShapeException($"Slice '{Name}': a channels-last input must be 4-D, not {Shapes.Format(x)}.");
        int[] y = (int[])x.Clone();
        var seen = new bool[x.Length];
        for (int i = 0; i < Axes.Length; i++)
        {
            int axis = Axis(i, x.Length);
            if (seen[axis]) throw new ShapeException($"Slice '{Name}': axis {Axes[i]} is given twice.");
            seen[axis] = true;
            if (Steps[i] is 0 or long.MinValue) throw new ShapeException($"Slice '{Name}': step {Steps[i]} is invalid.");
            if (x[axis] >= 0) y[axis] = (int)Range(i, x[axis]).Count;
        }
        return y;
    }

    private int Axis(int i, int rank)
    {
        long a = Axes[i] < 0 ? Axes[i] + rank : Axes[i];
        if (a < 0 || a >= rank) throw new ShapeException($"Slice '{Name}': axis {Axes[i]} is out of range for rank {rank}.");
        return (int)a;
    }

    /// <summary>The first index and element count along entry <paramref name="i"/>'s axis of length <paramref name="dim"/>.</summary>
    internal (long Start, long Count) Range(int i, int dim) => Range(Starts[i], Ends[i], Steps[i], dim);

    /// <summary>ONNX Slice's first index and element count for one axis of length <paramref name="dim"/> (negative indices count from the end; both clamp).</summary>
    internal static (long Start, long Count) Range(long start, long end, long step, int dim)
    {
        start = start < 0 ? start + dim : start;
        end = end < 0 ? end + dim : end;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
            return (start, Math.Max(0, (end - start + step - 1) / step));
        }
        start = Math.Clamp(start, 0, dim - 1);
        end = Math.Clamp(end, -1, dim - 1);
        return (start, Math.Max(0, (start - end - step - 1) / -step));
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]), y = frame.Shape(Output);
        if (Shapes.ElementCount(y) == 0) return;
        // Dims in memory order, so the copy's innermost run is contiguous: [N, H, W, C] for a channels-last tensor.
        Span<int> order = stackalloc int[x.Length], memoryX = stackalloc int[x.Length], memoryY = stackalloc int[x.Length];
        for (int d = 0; d < order.Length; d++) order[d] = d;
        if (ChannelsLast) (order[1], order[2], order[3]) = (2, 3, 1);
        for (int k = 0; k < order.Length; k++) (memoryX[k], memoryY[k]) = (x[order[k]], y[order[k]]);
        Span<nint> strides = stackalloc nint[x.Length];
        CopyKernels.ContiguousStrides(memoryX, strides);
        float* src = frame.Pointer(Inputs[0]);
        for (int i = 0; i < Axes.Length; i++)
        {
            int k = order.IndexOf(Axis(i, x.Length));
            src += Range(i, memoryX[k]).Start * strides[k];
            strides[k] *= (nint)Steps[i];
        }
        CopyKernels.Strided(src, strides, frame.Pointer(Output), default, memoryY);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(Starts);
        writer.Write(Ends);
        writer.Write(Axes);
        writer.Write(Steps);
        writer.Write(ChannelsLast);
    }

    internal static SliceLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        long[] starts = reader.ReadInt64Array(), ends = reader.ReadInt64Array(), axes = reader.ReadInt64Array(), steps = reader.ReadInt64Array();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new PlanFormatException($"The plan is corrupt: Slice '{name}' has mismatched parameter lengths.");
        return new SliceLayer(name, inputs[0], starts, ends, axes, steps) { ChannelsLast = reader.ReadBool() };
    }
}
