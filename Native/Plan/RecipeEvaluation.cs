using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Plan;

/// <summary>Derives engine weights from model weights: a build and every refit run their recipes here.</summary>
internal static class RecipeEvaluation
{
    /// <summary>A weight of at least twice this many floats is packed in parts (of its panels) that threads share.</summary>
    private const long PartFloats = 1 << 17;

    /// <summary>
    /// From this many bytes of engine weights written in one run, packed weights are written with streaming stores
    /// (<see cref="WeightRecipe.Evaluate(IReadOnlyList{float[]}, float[], int, int, bool)"/>): a refit writes into the
    /// buffers the refit before last released, and an engine this large (with its model weights, twice over) no longer
    /// fits the last-level cache beside the files it is refitted from, so ordinary stores would first read every line
    /// from memory. Smaller outputs stay in cache for the inference that follows.
    /// </summary>
    private const long StreamFromBytes = 8L << 20;

    /// <summary>Whether a run writing <paramref name="floats"/> floats of engine weights streams them.</summary>
    public static bool Streams(long floats) => floats * sizeof(float) >= StreamFromBytes;

    /// <summary>The panel ranges a weight's recipe is evaluated in: parts of about <paramref name="partFloats"/> or more.</summary>
    internal static (int First, int End)[] Parts(EngineWeight weight, long partFloats = PartFloats)
    {
        int panels = weight.Recipe.Panels, count = (int)Math.Clamp(weight.Length / partFloats, 1, panels);
        var parts = new (int, int)[count];
        for (int p = 0; p < count; p++) parts[p] = ((int)((long)panels * p / count), (int)((long)panels * (p + 1) / count));
        return parts;
    }

    /// <summary>
    /// Runs the recipes of the engine weights <paramref name="which"/> on the pool, large weights in parts of their
    /// panels and largest first, so the threads finish together. A buffer already in place (of the weight's length) is
    /// written into; a missing one is rented pinned from <see cref="WeightPool"/> (the engine that takes the result owns
    /// it).
    /// </summary>
    /// <param name="sources">The source arrays of an engine weight's recipe, by engine weight index (those of <paramref name="which"/> at least).</param>
    /// <param name="finiteSource">
    /// Set, by engine weight, to whether its recipe found every value of its first source finite
    /// (<see cref="WeightRecipe.Evaluate(IReadOnlyList{float[]}, float[])"/>).
    /// </param>
    /// <param name="copyFirst">
    /// By engine weight, an array its first source is a copy of, made here part by part just before the recipe reads
    /// that part (so the values are read from memory once), or null where the source is complete already.
    /// </param>
    public static void Run(EngineWeight[] weights, List<int> which, float[][]?[] sources, float[]?[] buffers, bool[] finiteSource, WorkerPool pool,
                           float[]?[]? copyFirst = null)
    {
        long total = 0;
        foreach (int i in which) total += weights[i].Length;
        // Too little for the pool to share out (it would run the parts inline): no parts to list and sort.
        if (total >= WorkerPool.InlineFloats) RunOnPool(weights, which, sources, buffers, pool, copyFirst, finiteSource, Streams(total));
        else
            foreach (int i in which)
            {
                var from = sources[i]!;
                if (copyFirst?[i] is { } original) CopyKernels.CopyFloats(original, from[0]);
                finiteSource[i] = weights[i].Recipe.Evaluate(from, buffers[i] ??= WeightPool.Rent(checked((int)weights[i].Length)));
            }
    }

    /// <summary>
    /// <see cref="Run"/> for work large enough to share out. Its own method: the lambda's captures are allocated where
    /// its parameters come into scope, which would cost every small refit.
    /// </summary>
    private static void RunOnPool(EngineWeight[] weights, List<int> which, float[][]?[] sources, float[]?[] buffers, WorkerPool pool, float[]?[]? copyFirst,
                                  bool[] finiteSource, bool stream)
    {
        var parts = new List<(int Weight, int First, int End, long Floats)>();
        foreach (int i in which)
        {
            var ranges = Parts(weights[i]);
            foreach (var (first, end) in ranges) parts.Add((i, first, end, weights[i].Length / ranges.Length));
        }
        parts.Sort((a, b) => b.Floats.CompareTo(a.Floats));
        // Buffers rented before the loop: the threads then only compute.
        foreach (int i in which) buffers[i] ??= WeightPool.Rent(checked((int)weights[i].Length));
        var finite = new bool[parts.Count];
        pool.For(parts.Count, parts.Sum(p => p.Floats), index =>
        {
            var (i, first, end, _) = parts[index];
            if (copyFirst?[i] is { } original)
            {
                var (start, stop) = weights[i].Recipe.SourceRange(first, end, original.LongLength)!.Value;
                CopyKernels.CopyFloats(original.AsSpan((int)start, (int)(stop - start)), sources[i]![0].AsSpan((int)start));
            }
            finite[index] = weights[i].Recipe.Evaluate(sources[i]!, buffers[i]!, first, end, stream);
        });
        foreach (var (i, _, _, _) in parts) finiteSource[i] = true;
        for (int index = 0; index < parts.Count; index++) finiteSource[parts[index].Weight] &= finite[index];
    }
}
