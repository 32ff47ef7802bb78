using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// A channel shuffle over 4-D tensors, which the builder fuses from exporters' Reshape [N, g, C/g, H, W] →
/// Transpose (0, 2, 1, 3, 4) → Reshape [N, C, H, W], together with a Concat of the g groups before it and a
/// channel Slice after it: y[n, j·g + i] = group i's channel Start + j, for j &lt; Count. The groups are either the
/// g equal channel ranges of one input or g inputs of equal shape.
/// </summary>
public sealed class ChannelShuffleLayer : Layer
{
    /// <summary>The most groups a shuffle interleaves (their addresses live on the stack while it runs).</summary>
    public const int MaxGroups = 64;

    public ChannelShuffleLayer(string name, ValueRef[] inputs, int groups, int start, int count) : base(name, inputs)
    {
        if (groups is < 1 or > MaxGroups || start < 0 || count < 1 || (inputs.Length != 1 && inputs.Length != groups))
            throw new ArgumentException($"ChannelShuffle '{name}': {groups} groups (1 to {MaxGroups}) from 1 or {groups} inputs, start {start} ≥ 0, count {count} ≥ 1.");
        Groups = groups;
        Start = start;
        Count = count;
    }

    public override LayerKind Kind => LayerKind.ChannelShuffle;
    public int Groups { get; }

    /// <summary>The first channel taken from each group.</summary>
    public int Start { get; }

    /// <summary>Channels taken from each group: the output has Groups × Count channels.</summary>
    public int Count { get; }

    /// <summary>Inputs and output are held channels-last; the builder decides.</summary>
    public bool ChannelsLast { get; internal set; }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (x.Length != 4) throw new ShapeException($"ChannelShuffle '{Name}': input {Shapes.Format(x)} is not 4-D.");
        foreach (int[] s in inputShapes)
            if (s.Length != 4 || s.AsSpan(1).SequenceCompareTo(x.AsSpan(1)) != 0 || (s[0] >= 0 && x[0] >= 0 && s[0] != x[0]))
                throw new ShapeException($"ChannelShuffle '{Name}': input {Shapes.Format(s)} differs from {Shapes.Format(x)}.");
        if (x[1] < 0 || (inputShapes.Count == 1 && x[1] % Groups != 0))
            throw new ShapeException($"ChannelShuffle '{Name}': {x[1]} channels do not split into {Groups} groups.");
        if (Start + (long)Count > GroupChannels(x))
            throw new ShapeException($"ChannelShuffle '{Name}': channels {Start} to {Start + (long)Count - 1} are outside groups of {GroupChannels(x)}.");
        long channels = (long)Groups * Count;
        if (channels > int.MaxValue) throw new ShapeException($"ChannelShuffle '{Name}': {Groups} × {Count} channels are too many.");
        return [x[0], (int)channels, x[2], x[3]];
    }

    private int GroupChannels(int[] x) => Inputs.Length == 1 ? x[1] / Groups : x[1];

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]);
        nint pixels = (nint)x[2] * x[3];
        // One channel's step in memory: the next float channels-last, the next plane in NCHW.
        nint channel = ChannelsLast ? 1 : pixels;
        int groupChannels = GroupChannels(x);
        Span<nint> sources = stackalloc nint[Groups];
        for (int i = 0; i < Groups; i++)
        {
            float* group = Inputs.Length == 1 ? frame.Pointer(Inputs[0]) + i * groupChannels * channel : frame.Pointer(Inputs[i]);
            sources[i] = (nint)(group + Start * channel);
        }
        nint sourceStride = (Inputs.Length == 1 ? x[1] : groupChannels) * channel;
        ChannelShuffleKernels.Interleave(sources, sourceStride, frame.Pointer(Output), ChannelsLast ? x[0] * pixels : x[0], Count, ChannelsLast ? 1 : pixels);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(Groups);
        writer.Write(Start);
        writer.Write(Count);
        writer.Write(ChannelsLast);
    }

    internal static ChannelShuffleLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        int groups = reader.ReadInt(1, MaxGroups), start = reader.ReadInt(0, int.MaxValue), count = reader.ReadInt(1, int.MaxValue);
        if (inputs.Length != 1 && inputs.Length != groups)
            throw new PlanFormatException($"The plan is corrupt: ChannelShuffle '{name}' has {inputs.Length} inputs for {groups} groups.");
        return new ChannelShuffleLayer(name, inputs, groups, start, count) { ChannelsLast = reader.ReadBool() };
    }
}
