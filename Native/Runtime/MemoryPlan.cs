using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Runtime;

/// <summary>
/// Places every activation tensor in one arena for a given set of shapes: tensors whose lifetimes do not
/// overlap share memory, views (reshape, flatten, identity) share their source's memory, and the inputs a concat
/// takes in place are channel ranges of its output, written there by their producers. The network's inputs (and views
/// of them) stay in the caller's arrays, which no layer writes.
/// </summary>
internal sealed class MemoryPlan
{
    /// <summary>Tensors start on cache lines: 16 floats, 64 bytes.</summary>
    public const int AlignmentFloats = 16;

    private MemoryPlan(long[] offsets, ValueRef[] storage, long[] viewOffsets, int[] pixelStrides, long arenaLength)
    {
        Offsets = offsets;
        Storage = storage;
        ViewOffsets = viewOffsets;
        PixelStrides = pixelStrides;
        ArenaLength = arenaLength;
    }

    /// <summary>Float offset of each tensor's storage root in the arena (-1 when the root is a weight or a network input).</summary>
    public long[] Offsets { get; }

    /// <summary>What each tensor's memory is: itself, another tensor it views, or a weight it views.</summary>
    public ValueRef[] Storage { get; }

    /// <summary>Floats from the start of each tensor's storage root to the tensor's first value (0 but inside a concat's output).</summary>
    public long[] ViewOffsets { get; }

    /// <summary>Per tensor, as <see cref="ExecutionFrame.PixelStrides"/>: the concat's channel count for an input it takes in place, else 0.</summary>
    public int[] PixelStrides { get; }

    public long ArenaLength { get; }

    public static MemoryPlan Create(EnginePlan plan, int[][] shapes)
    {
        int tensorCount = plan.Tensors.Length, layerCount = plan.Layers.Length;
        var storage = new ValueRef[tensorCount];
        for (int t = 0; t < tensorCount; t++) storage[t] = ValueRef.Tensor(t);
        var first = new int[tensorCount];
        var last = new int[tensorCount];
        Array.Fill(first, int.MaxValue);
        Array.Fill(last, -1);
        foreach (int input in plan.Inputs) first[input] = -1;
        var viewOffsets = new long[tensorCount];
        var pixelStrides = new int[tensorCount];
        // A concat's in-place inputs live in its output from the moment their producers write them: channels-last, each
        // at its channel offset, one output pixel apart.
        foreach (var concat in plan.Layers.OfType<ConcatLayer>().Where(c => c.InPlaceCount > 0))
        {
            int channels = 0, outChannels = shapes[concat.Output][1];
            for (int i = 0; i < concat.Inputs.Length; i++)
            {
                int t = concat.Inputs[i].Index;
                if (concat.InPlace[i])
                    (storage[t], viewOffsets[t], pixelStrides[t]) = (ValueRef.Tensor(concat.Output), channels, outChannels);
                channels += shapes[t][1];
            }
        }

        for (int l = 0; l < layerCount; l++)
        {
            Layer layer = plan.Layers[l];
            if (layer.IsAlias) storage[layer.Output] = layer.Inputs[0].IsWeight ? layer.Inputs[0] : storage[layer.Inputs[0].Index];
            ValueRef root = storage[layer.Output];
            if (!root.IsWeight) first[root.Index] = Math.Min(first[root.Index], l);
            foreach (var input in layer.Inputs)
                if (!input.IsNone && !input.IsWeight && storage[input.Index] is { IsWeight: false } r) last[r.Index] = Math.Max(last[r.Index], l);
        }
        foreach (int output in plan.Outputs)
            if (storage[output] is { IsWeight: false } r) last[r.Index] = layerCount;

        // The network's inputs are read where the caller's arrays lie (see ExecutionContext): no arena space.
        var isInput = new bool[tensorCount];
        foreach (int input in plan.Inputs) isInput[input] = true;
        var roots = new List<int>();
        for (int t = 0; t < tensorCount; t++)
            if (storage[t] == ValueRef.Tensor(t) && first[t] != int.MaxValue && !isInput[t])
            {
                last[t] = Math.Max(last[t], first[t]);
                roots.Add(t);
            }

        var offsets = new long[tensorCount];
        Array.Fill(offsets, -1);
        // Largest first, each at the lowest offset free during its whole lifetime.
        roots.Sort((x, y) => Shapes.ElementCount(shapes[y]).CompareTo(Shapes.ElementCount(shapes[x])));
        var placed = new List<(long Offset, long Length, int First, int Last)>();
        long arena = 0;
        foreach (int t in roots)
        {
            long length = Align(Math.Max(1, Shapes.ElementCount(shapes[t])));
            var conflicts = placed.Where(p => p.First <= last[t] && first[t] <= p.Last).OrderBy(p => p.Offset);
            long offset = 0;
            foreach (var p in conflicts)
            {
                if (offset + length <= p.Offset) break;
                offset = Math.Max(offset, p.Offset + p.Length);
            }
            placed.Add((offset, length, first[t], last[t]));
            offsets[t] = offset;
            arena = Math.Max(arena, offset + length);
        }
        return new MemoryPlan(offsets, storage, viewOffsets, pixelStrides, arena);
    }

    /// <summary><paramref name="n"/> floats rounded up to the alignment, so what follows them starts aligned.</summary>
    internal static long Align(long n) => (n + AlignmentFloats - 1) / AlignmentFloats * AlignmentFloats;
}
