using TrtEngine.Native.Kernels;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;
using TrtEngine.Native.Tests.Kernels;

namespace TrtEngine.Native.Tests.Plan;

/// <summary>
/// Large weights are packed in parts of their panels that the pool's threads share: the result is bit for bit the
/// whole recipe's, and a NaN in any part still leaves the source unproven.
/// </summary>
public sealed class RecipeEvaluationTests
{
    /// <summary>Recipes large enough to be split, each with a last panel only partly filled.</summary>
    private static (EngineWeight Weight, float[][] Sources)[] Cases()
    {
        var wide = GemmKernels.Tactics.First(t => t.Nr == 32);
        var narrow = GemmKernels.Tactics.First(t => t.Nr == 16 && !t.Wide);
        (WeightRecipe Recipe, float[][] Sources)[] recipes =
        [
            (WeightRecipe.PackGemmB("w", 300, 1001, true, 1f, narrow.Id), [Reference.Random(300 * 1001, 1)]),
            (WeightRecipe.PackConv("c", ("s", "v", 1e-5f), ConvPacking.Gemm, 501, 64 * 9, 9, wide.Id),
                [Reference.Random(501 * 64 * 9, 2), Reference.Random(501, 3), Reference.Random(501, 4).Select(v => 1 + Math.Abs(v)).ToArray()]),
            (WeightRecipe.PackConv("u", null, ConvPacking.Winograd, 250, 96 * 9, 9, narrow.Id), [Reference.Random(250 * 96 * 9, 5)]),
        ];
        return recipes.Select(r => (new EngineWeight(r.Recipe.Sources[0], [], r.Recipe, r.Recipe.OutputLength(r.Sources.Select(s => s.LongLength).ToArray())), r.Sources)).ToArray();
    }

    private static bool[] Run((EngineWeight Weight, float[][] Sources)[] cases, float[]?[] buffers)
    {
        var byName = cases.SelectMany(c => c.Weight.Recipe.Sources.Zip(c.Sources)).ToDictionary(p => p.First, p => p.Second);
        return RecipeEvaluation.Run(cases.Select(c => c.Weight).ToArray(), Enumerable.Range(0, cases.Length), n => byName[n], buffers, WorkerPool.Shared);
    }

    [Fact]
    public void Weights_packed_in_parts_are_bit_identical_to_whole_recipes()
    {
        var cases = Cases();
        Assert.All(cases, c => Assert.True(c.Weight.Recipe.Panels > 1 && c.Weight.Length >= 2 << 17, $"{c.Weight.Name} is not split"));
        var buffers = new float[]?[cases.Length];
        bool[] finite = Run(cases, buffers);
        for (int i = 0; i < cases.Length; i++)
        {
            Assert.Equal(cases[i].Weight.Recipe.Evaluate(cases[i].Sources), buffers[i]);
            Assert.True(finite[i], cases[i].Weight.Name);
        }
    }

    [Fact]
    public void A_non_finite_value_in_any_part_leaves_its_source_unproven()
    {
        var cases = Cases();
        foreach (var (weight, sources) in cases) sources[0][^1] = float.NaN;   // in the last panel
        cases[0].Sources[0][^1] = 1f;
        cases[0].Sources[0][0] = float.PositiveInfinity;                          // in the first
        bool[] finite = Run(cases, new float[]?[cases.Length]);
        Assert.All(finite, Assert.False);
    }
}
