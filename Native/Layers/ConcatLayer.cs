using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX Concat: joins its inputs (tensors or weights) along one axis; all other dims must agree. A channels-last
/// concat joins 4-D channels-last tensors along the channel axis (the innermost one in memory), and may normalize what
/// it joins (<see cref="Normalizes"/>).
/// </summary>
public sealed class ConcatLayer(string name, int axis, ValueRef[] inputs) : Layer(name, inputs)
{
    public override LayerKind Kind => LayerKind.Concat;
    public int Axis { get; } = axis;

    /// <summary>
    /// A channels-last BatchNormalization that alone read this concat, applied to the joined channels as they are
    /// written, then its activation: its parameters (scale, bias, mean, variance) are the last four inputs. DenseNet's
    /// every concat feeds one so: the joined tensor is then never written and read back. The builder decides.
    /// </summary>
    public bool Normalizes { get; internal set; }

    /// <summary>The normalization's ε.</summary>
    public float Epsilon { get; internal set; }

    /// <summary>The activation after the normalization.</summary>
    public Activation Activation { get; internal set; }

    /// <summary>The inputs joined: all but a normalization's four parameters.</summary>
    public int DataCount => Inputs.Length - (Normalizes ? 4 : 0);

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
        int axis = Shapes.NormalizeAxis(Axis, rank, "Concat", Name);
        if (rank > CopyKernels.MaxRank) throw new ShapeException($"Concat '{Name}': rank {rank} is above {CopyKernels.MaxRank}.");
        int[] y = (int[])first.Clone();
        for (int i = 1; i < DataCount; i++)
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
        if (Normalizes && (rank != 4 || axis != 1 || !OneParameterPerChannel(inputShapes, y[1])))
            throw new ShapeException($"Concat '{Name}': its normalization needs 4-D inputs joined along channels and one parameter a channel.");
        return y;
    }

    private bool OneParameterPerChannel(IReadOnlyList<int[]> inputShapes, int channels)
    {
        for (int i = DataCount; i < inputShapes.Count; i++)
            if (channels >= 0 && Shapes.ElementCount(inputShapes[i]) != channels) return false;
        return true;
    }

    internal override object? CreateState(ExecutionFrame frame) => Normalizes ? new NormalizeState() : null;

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        if (Normalizes)
        {
            Normalize(frame, (NormalizeState)state!);
            return;
        }
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

    /// <summary>y = act(BatchNormalization(concat(inputs))), channels-last, each input's channels written at their offset.</summary>
    private unsafe void Normalize(ExecutionFrame frame, NormalizeState s)
    {
        int[] y = frame.Shape(Output);
        int channels = y[1];
        if (s.Coefficients.Length != 2 * channels) s.Coefficients = new float[2 * channels];
        if (s.Sources.Length != DataCount) s.Sources = new (nint, int)[DataCount];
        var sources = s.Sources;
        for (int i = 0; i < sources.Length; i++) sources[i] = ((nint)frame.Pointer(Inputs[i]), frame.Shape(Inputs[i])[1]);
        fixed (float* coefficients = s.Coefficients)
        {
            int p = DataCount;
            BatchNormLayer.Coefficients(frame.Pointer(Inputs[p]), frame.Pointer(Inputs[p + 1]), frame.Pointer(Inputs[p + 2]), frame.Pointer(Inputs[p + 3]),
                Epsilon, channels, coefficients);
            s.Job.RunJoined(sources, frame.Pointer(Output), coefficients, coefficients + channels, y[0], channels, y[2] * y[3], y[3], Activation, frame.Pool);
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
        writer.Write(Normalizes);
        writer.Write(Epsilon);
        writer.Write(Activation);
    }

    internal static ConcatLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, reader.ReadInt(-64, 63), inputs)
        {
            ChannelsLast = reader.ReadBool(), InPlace = inputs.Select(_ => reader.ReadBool()).ToArray(),
            Normalizes = reader.ReadBool(), Epsilon = reader.ReadSingle(), Activation = reader.ReadActivation(),
        };

    private sealed class NormalizeState
    {
        public float[] Coefficients { get; set; } = [];
        public (nint Data, int Channels)[] Sources { get; set; } = [];
        public ChannelAffineJob Job { get; } = new();
    }
}
