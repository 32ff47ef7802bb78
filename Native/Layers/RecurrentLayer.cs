using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX LSTM or GRU with the default activations, forward, reverse or both directions, one of its outputs (a layer per
/// output the model reads), in ONNX's layout 0. Inputs: X [seq, batch, input], W, R, B (or none), and the initial
/// hidden and cell states [directions, batch, hidden] (or none: zeros). W, R and B are the model's weights as they are
/// (a refit adopts them); the layer's job packs them on its first call after weights are bound.
/// </summary>
public sealed class RecurrentLayer(string name, RecurrentCell cell, RecurrentOutput output, ValueRef[] inputs, int hidden, bool reverse, bool bidirectional,
    bool linearBeforeReset) : Layer(name, inputs)
{
    public override LayerKind Kind => LayerKind.Recurrent;
    public RecurrentCell Cell { get; } = cell;
    public RecurrentOutput Which { get; } = output;
    public int HiddenSize { get; } = hidden;
    public bool Reverse { get; } = reverse;
    public bool Bidirectional { get; } = bidirectional;
    public bool LinearBeforeReset { get; } = linearBeforeReset;

    private int Directions => Bidirectional ? 2 : 1;
    private int Gates => Cell == RecurrentCell.Lstm ? 4 : 3;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0], w = inputShapes[1], r = inputShapes[2];
        if (x.Length != 3 || w.Length != 3 || r.Length != 3 || w[0] != Directions || w[1] != Gates * HiddenSize || r[1] != Gates * HiddenSize || r[2] != HiddenSize
            || (x[2] >= 0 && w[2] != x[2]))
            throw new ShapeException($"{Cell} '{Name}': X {Shapes.Format(x)}, W {Shapes.Format(w)} and R {Shapes.Format(r)} do not make a {Directions}-direction cell of {HiddenSize} hidden units.");
        return Which == RecurrentOutput.Sequence ? [x[0], Directions, x[1], HiddenSize] : [Directions, x[1], HiddenSize];
    }

    /// <summary>A direction's hidden and cell states, and its kernel's scratch (the projections of every step among them).</summary>
    internal override long WorkspaceLength(ExecutionFrame frame)
    {
        int[] x = frame.Shape(Inputs[0]);
        return 2L * x[1] * HiddenSize + RecurrentJob.ScratchLength(x[0], x[1], HiddenSize, Gates);
    }

    internal override object? CreateState(ExecutionFrame frame) => new RecurrentJob(frame.ModerateGemmsShared);

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        var job = (RecurrentJob)state!;
        int[] x = frame.Shape(Inputs[0]);
        int steps = x[0], batch = x[1], input = x[2], hiddenSize = HiddenSize, directions = Directions;
        float* h = frame.Workspace, c = h + (long)batch * hiddenSize, scratch = c + (long)batch * hiddenSize;
        // Y is [seq, directions, batch, hidden]: a step's rows of one direction are contiguous.
        long stateDirection = (long)batch * hiddenSize, yStep = directions * stateDirection;
        float* output = frame.Pointer(Output);
        for (int d = 0; d < directions; d++)
        {
            for (int i = 0; i < 2; i++)
            {
                var initial = Inputs[4 + i];
                float* target = i == 0 ? h : c;
                for (int n = 0; n < batch; n++)
                    if (initial.IsNone) new Span<float>(target + (long)n * hiddenSize, hiddenSize).Clear();
                    else new ReadOnlySpan<float>(frame.Pointer(initial) + d * stateDirection + (long)n * hiddenSize, hiddenSize).CopyTo(new Span<float>(target + (long)n * hiddenSize, hiddenSize));
            }
            float* w = frame.Pointer(Inputs[1]) + (long)d * Gates * hiddenSize * input, r = frame.Pointer(Inputs[2]) + (long)d * Gates * hiddenSize * hiddenSize;
            float* bias = Inputs[3].IsNone ? null : frame.Pointer(Inputs[3]) + (long)d * 2 * Gates * hiddenSize;
            float* y = Which == RecurrentOutput.Sequence ? output + (long)d * batch * hiddenSize : null;
            bool backwards = Reverse || d == 1;
            if (Cell == RecurrentCell.Lstm)
                job.Lstm(frame.Pointer(Inputs[0]), steps, batch, input, hiddenSize, w, r, bias, d, frame.WeightsVersion, h, c, y, yStep, backwards, scratch, frame.Pool);
            else
                job.Gru(frame.Pointer(Inputs[0]), steps, batch, input, hiddenSize, w, r, bias, d, frame.WeightsVersion, h, y, yStep, backwards, LinearBeforeReset, scratch,
                    frame.Pool);
            if (Which == RecurrentOutput.Sequence) continue;
            new ReadOnlySpan<float>(Which == RecurrentOutput.Hidden ? h : c, batch * hiddenSize).CopyTo(new Span<float>(output + d * stateDirection, batch * hiddenSize));
        }
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)Cell);
        writer.Write((byte)Which);
        writer.Write(HiddenSize);
        writer.Write(Reverse);
        writer.Write(Bidirectional);
        writer.Write(LinearBeforeReset);
    }

    internal static RecurrentLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, reader.ReadEnum<RecurrentCell>(), reader.ReadEnum<RecurrentOutput>(), inputs, reader.ReadInt(1, int.MaxValue), reader.ReadBool(), reader.ReadBool(), reader.ReadBool());
}
