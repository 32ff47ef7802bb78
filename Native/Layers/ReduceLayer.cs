using System.Runtime.Intrinsics;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ReduceMean, ReduceSum and ReduceMax over constant axes (negative allowed). No axes reduces every axis,
/// unless <see cref="NoopWithEmptyAxes"/> (opset 18), which makes the layer a copy. A channels-last reduce is a mean
/// or max over H and W of a 4-D channels-last tensor (a global pool); its per-channel output is the same in either layout.
/// </summary>
public sealed class ReduceLayer(string name, ValueRef x, ReduceKind reduction, long[] axes, bool keepDims, bool noopWithEmptyAxes) : Layer(name, [x])
{
    public override LayerKind Kind => LayerKind.Reduce;
    public ReduceKind Reduction { get; } = reduction;
    public long[] Axes { get; } = axes;
    public bool KeepDims { get; } = keepDims;
    public bool NoopWithEmptyAxes { get; } = noopWithEmptyAxes;

    /// <summary>The input is held channels-last; the builder decides, for a mean or max over H and W only.</summary>
    public bool ChannelsLast { get; internal set; }

    /// <summary>Whether this is a mean or max over exactly the H and W of a 4-D input: a global pool.</summary>
    public bool IsSpatialPool(int rank)
    {
        if (rank != 4 || Reduction == ReduceKind.Sum || Axes.Length != 2) return false;
        Span<bool> reduced = stackalloc bool[rank];
        ReducedAxes(rank, reduced);
        return reduced is [false, false, true, true];
    }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (x.Length > CopyKernels.MaxRank) throw new ShapeException($"Reduce '{Name}': rank {x.Length} is above {CopyKernels.MaxRank}.");
        if (ChannelsLast && !IsSpatialPool(x.Length)) throw new ShapeException($"Reduce '{Name}': a channels-last reduce is a mean or max over H and W of a 4-D input, not {Shapes.Format(x)}.");
        Span<bool> reduced = stackalloc bool[x.Length];
        ReducedAxes(x.Length, reduced);
        var y = new List<int>();
        for (int d = 0; d < x.Length; d++)
        {
            if (reduced[d] && x[d] == 0 && Reduction == ReduceKind.Max) throw new ShapeException($"Reduce '{Name}': ReduceMax over the empty dimension {d}.");
            if (!reduced[d]) y.Add(x[d]);
            else if (KeepDims) y.Add(1);
        }
        return [.. y];
    }

    private void ReducedAxes(int rank, Span<bool> reduced)
    {
        if (Axes.Length == 0)
        {
            reduced.Fill(!NoopWithEmptyAxes);
            return;
        }
        reduced.Clear();
        foreach (long axis in Axes)
        {
            long a = axis < 0 ? axis + rank : axis;
            if (a < 0 || a >= rank) throw new ShapeException($"Reduce '{Name}': axis {axis} is out of range for rank {rank}.");
            if (reduced[(int)a]) throw new ShapeException($"Reduce '{Name}': axis {axis} is given twice.");
            reduced[(int)a] = true;
        }
    }

    internal override object? CreateState(ExecutionFrame frame) => ChannelsLast ? new GlobalPoolJob() : null;

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]);
        if (ChannelsLast)
        {
            ((GlobalPoolJob)state!).Run(Reduction == ReduceKind.Max ? PoolKind.Max : PoolKind.Average, frame.Pointer(Inputs[0]), frame.Pointer(Output), x[0], x[2] * x[3], x[1], frame.Pool);
            return;
        }
        int rank = x.Length;
        Span<bool> reduced = stackalloc bool[rank];
        ReducedAxes(rank, reduced);
        Span<nint> strides = stackalloc nint[rank];
        CopyKernels.ContiguousStrides(x, strides);
        // Split the input dims into kept ones (the output's order) and reduced ones, each with its input stride.
        Span<int> keptDims = stackalloc int[rank], reducedDims = stackalloc int[rank];
        Span<nint> keptStrides = stackalloc nint[rank], reducedStrides = stackalloc nint[rank];
        int kept = 0, red = 0;
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            if (x[d] == 1) continue;
            if (reduced[d])
            {
                reducedDims[red] = x[d];
                reducedStrides[red++] = strides[d];
                count *= x[d];
            }
            else
            {
                keptDims[kept] = x[d];
                keptStrides[kept++] = strides[d];
            }
        }
        long outputs = Shapes.ElementCount(frame.Shape(Output));
        float* src = frame.Pointer(Inputs[0]), dst = frame.Pointer(Output);
        if (count == 0)
        {
            // An empty reduction: the sum is 0, the mean undefined (0/0).
            CopyKernels.Fill(dst, (nint)outputs, Reduction == ReduceKind.Sum ? 0f : float.NaN);
            return;
        }
        Span<int> outIndex = stackalloc int[Math.Max(1, kept)];
        Span<int> inIndex = stackalloc int[Math.Max(1, red)];
        outIndex.Clear();
        // The innermost reduced dim is summed as a run; contiguous runs use vectors.
        int run = red > 0 ? reducedDims[red - 1] : 1;
        nint runStride = red > 0 ? reducedStrides[red - 1] : 1;
        for (long o = 0; o < outputs; o++)
        {
            float* start = src;
            for (int k = 0; k < kept; k++) start += outIndex[k] * keptStrides[k];
            float acc = Reduction == ReduceKind.Max ? float.NegativeInfinity : 0f;
            inIndex.Clear();
            while (true)
            {
                float* p = start;
                for (int r = 0; r < red - 1; r++) p += inIndex[r] * reducedStrides[r];
                acc = Reduction == ReduceKind.Max ? MathF.Max(acc, Max(p, run, runStride)) : acc + Sum(p, run, runStride);
                int level = red - 2;
                for (; level >= 0 && ++inIndex[level] == reducedDims[level]; level--) inIndex[level] = 0;
                if (level < 0) break;
            }
            dst[o] = Reduction == ReduceKind.Mean ? acc / count : acc;
            for (int k = kept - 1; k >= 0 && ++outIndex[k] == keptDims[k]; k--) outIndex[k] = 0;
        }
    }

    private static unsafe float Sum(float* p, int n, nint stride)
    {
        float s = 0f;
        int i = 0;
        if (stride == 1 && Vector256.IsHardwareAccelerated && n >= 8)
        {
            var v = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8) v += Vector256.Load(p + i);
            s = Vector256.Sum(v);
        }
        for (; i < n; i++) s += p[i * stride];
        return s;
    }

    private static unsafe float Max(float* p, int n, nint stride)
    {
        float m = float.NegativeInfinity;
        for (int i = 0; i < n; i++) m = MathF.Max(m, p[i * stride]);
        return m;
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)Reduction);
        writer.Write(Axes);
        writer.Write(KeepDims);
        writer.Write(NoopWithEmptyAxes);
        writer.Write(ChannelsLast);
    }

    internal static ReduceLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, inputs[0], reader.ReadEnum<ReduceKind>(), reader.ReadInt64Array(), reader.ReadBool(), reader.ReadBool()) { ChannelsLast = reader.ReadBool() };
}
