using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Whether tensors whose dims the network leaves dynamic have one shape at every input shape the profiles allow, as a
/// fusion that reads one element of each per output element needs (a convolution's residual, a channel scale folded
/// into a convolution). Equal dims in the network prove nothing where they are dynamic, even with one input: a Slice
/// of its first image is [?, C, H, W] as the input is, and 1 image at run time; a Concat along the batch is 2·n. So
/// the network's shapes are inferred at probe input shapes inside the profiles: every input at its opt shape, at its
/// min shape, and at opt with one dynamic dim at a time moved to another size it may take (so a batch 'n' and a batch
/// 'm' of two inputs, or an 'n' and a 1, part). Dims the model declares to be one size (two inputs' 'batch') move
/// together. A shape the network cannot take at some probe proves nothing either.
/// </summary>
internal sealed class ShapeProbes
{
    /// <summary>
    /// A size to move an unbounded dim to: larger than the constants a Slice of the first few images holds, and even,
    /// as a Reshape that halves the batch wants it.
    /// </summary>
    private const int Far = 4096;

    private readonly int[][][] _inputs;
    private readonly Func<int[][], int[][]> _infer;
    private int[][][]? _shapes;
    private bool _failed;

    /// <param name="infer">The network's tensor shapes at the given input shapes (in network input order); throws <see cref="ShapeException"/> where it cannot take them.</param>
    /// <param name="together">
    /// Groups of dims (input, axis) that are one size at run time, moved together: without it, moving one input's batch
    /// alone fails a network that adds two inputs of that batch, and such a probe proves nothing.
    /// </param>
    public ShapeProbes(IReadOnlyList<ShapeProfile> profiles, Func<int[][], int[][]> infer, IReadOnlyList<(int Input, int Axis)[]>? together = null)
    {
        _infer = infer;
        var probes = new List<int[][]> { profiles.Select(p => p.Opt).ToArray(), profiles.Select(p => p.Min).ToArray() };
        var moved = new HashSet<(int, int)>();
        for (int i = 0; i < profiles.Count; i++)
            for (int d = 0; d < profiles[i].Opt.Length; d++)
            {
                var (min, opt, max) = (profiles[i].Min[d], profiles[i].Opt[d], profiles[i].Max[d]);
                if (min == max || moved.Contains((i, d))) continue; // one size: nothing at run time differs from the build
                int other = opt != max ? (max <= Far ? max : Math.Max(Far, opt + 1)) : min;
                var probe = profiles.Select(p => (int[])p.Opt.Clone()).ToArray();
                foreach (var (input, axis) in together?.FirstOrDefault(g => g.Contains((i, d))) ?? [(i, d)])
                {
                    probe[input][axis] = other;
                    moved.Add((input, axis));
                }
                probes.Add(probe);
            }
        _inputs = [.. probes];
    }

    /// <summary>
    /// Whether the tensors <paramref name="tensors"/> have the same shape at every probe (those whose dims are static
    /// and equal always do; a tensor the probes do not know, made after they ran, never).
    /// </summary>
    public bool Same(params int[] tensors) =>
        Holds(shapes => tensors.All(t => t < shapes.Length && shapes[t] is { } shape && shape.AsSpan().SequenceEqual(shapes[tensors[0]])));

    /// <summary>Whether <paramref name="condition"/> holds of the tensor shapes at every probe; false where a probe fails.</summary>
    public bool Holds(Func<int[][], bool> condition)
    {
        if (_shapes is null && !_failed)
        {
            try
            {
                _shapes = _inputs.Select(_infer).ToArray();
            }
            catch (Exception e) when (e is ShapeException or OverflowException)
            {
                _failed = true;
            }
        }
        if (_shapes is null) return false;
        foreach (var shapes in _shapes)
            if (!condition(shapes)) return false;
        return true;
    }
}
