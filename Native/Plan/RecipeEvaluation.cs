using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Plan;

/// <summary>Derives engine weights from model weights: a build and every refit run their recipes here.</summary>
internal static class RecipeEvaluation
{
    /// <summary>
    /// Runs the recipes of the engine weights <paramref name="which"/> on the pool, largest first so the threads finish
    /// together. A buffer already in place (of the weight's length) is written into; a missing one is rented pinned
    /// from <see cref="WeightPool"/> (the engine that takes the result owns it).
    /// Returns, by engine weight, whether its recipe found every value of its first source finite
    /// (<see cref="WeightRecipe.Evaluate(IReadOnlyList{float[]}, float[])"/>).
    /// </summary>
    /// <param name="source">A model weight's values by name.</param>
    public static bool[] Run(EngineWeight[] weights, IEnumerable<int> which, Func<string, float[]> source, float[]?[] buffers, WorkerPool pool)
    {
        int[] order = which.OrderByDescending(i => weights[i].Length).ToArray();
        var finiteSource = new bool[weights.Length];
        // Sources and buffers found before the loop: the threads then only compute.
        var sources = Array.ConvertAll(order, i => Array.ConvertAll(weights[i].Recipe.Sources, s => source(s)));
        foreach (int i in order) buffers[i] ??= WeightPool.Rent(checked((int)weights[i].Length));
        pool.For(order.Length, order.Sum(i => weights[i].Length), index =>
        {
            int i = order[index];
            finiteSource[i] = weights[i].Recipe.Evaluate(sources[index], buffers[i]!);
        });
        return finiteSource;
    }
}
