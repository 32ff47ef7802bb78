using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX Concat: joins its inputs (tensors or weights) along one axis; all other dims must agree. A channels-last
/// concat joins 4-D channels-last tensors along the channel axis (the innermost one in memory).
/// </summary>
public sealed class ConcatLayer(string name, int axis, ValueRef[] inputs) : Layer(name, inputs)
{
    public override LayerKind Kind => LayerKind.Concat;
    public int Axis { get; } = axis;

    /// <summary>Inputs and output are 4-D, held channels-last, and joined along channels; the builder decides.</summary>
    public bool ChannelsLast { get; internal set; }

    /// <summary>
    /// Per input, whether its producer writes it straight into this concat's output (channels-last, at its channel offset,
    /// one output pixel apart), so the concat copies only the other inputs; the builder decides.
    /// </summary>
    public bool[] InPlace { get; internal set; } = new bool[inputs.Length];

    /// <summary>How many inputs are written in place.</summary>
    public int InPlaceCount => InPlace.Count(p => p);

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] first = inputShapes[0];
        int rank = first.Length;
        int axis = Shapes.NormalizeAxis(Axis, rank, $"Concat '{Name}'");
        if (rank > CopyKernels.MaxRank) throw new ShapeException($"Concat '{Name}': rank {rank} is above {CopyKernels.MaxRank}.");
        int[] y = (int[])first.Clone();
        for (int i = 1; i < inputShapes.Count; i++)
        {
            int[] s = inputShapes[i];
            if (s.Length != rank) throw new ShapeException($"Concat '{Name}': input {i} {Shapes.Format(s)} does not have the rank of {Shapes.Format(first)}.");
            for (int d = 0; d < rank; d++)
            {
                if (d == axis) y[d] = y[d] < 0 || s[d] < 0 ? Shapes.Dynamic : checked(y[d] + s[d]);
                else if (y[d] < 0) y[d] = s[d];
                else if (s[d] >= 0 && s[d] != y[d])
                    throw new ShapeException($"Concat '{Name}': input {i} {Shapes.Format(s)} differs from {Shapes.Format(first)} outside axis {Axis}.");
            }
        }
        return y;
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int rank = frame.Shape(Output).Length;
        int axis = ChannelsLast ? 3 : Axis < 0 ? Axis + rank : Axis;
        Span<int> y = stackalloc int[rank], x = stackalloc int[rank];
        MemoryShape(frame.Shape(Output), y);
        Span<nint> yStrides = stackalloc nint[rank];
        Span<nint> xStrides = stackalloc nint[rank];
        CopyKernels.ContiguousStrides(y, yStrides);
        float* dst = frame.Pointer(Output);
        for (int i = 0; i < Inputs.Length; i++)
        {
            MemoryShape(frame.Shape(Inputs[i]), x);
            if (!InPlace[i])
            {
                CopyKernels.ContiguousStrides(x, xStrides);
                CopyKernels.Strided(frame.Pointer(Inputs[i]), xStrides, dst, yStrides, x);
            }
            dst += x[axis] * yStrides[axis];
        }
    }

    /// <summary>The dims in memory order: [N, H, W, C] for a channels-last tensor.</summary>
    private void MemoryShape(int[] shape, Span<int> memory)
    {
        if (ChannelsLast) (memory[0], memory[1], memory[2], memory[3]) = (shape[0], shape[2], shape[3], shape[1]);
        else shape.CopyTo(memory);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(Axis);
        writer.Write(ChannelsLast);
        foreach (bool inPlace in InPlace) writer.Write(inPlace);
    }

    internal static ConcatLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, reader.ReadInt(-64, 63), inputs) { ChannelsLast = reader.ReadBool(), InPlace = inputs.Select(_ => reader.ReadBool()).ToArray() };
}
