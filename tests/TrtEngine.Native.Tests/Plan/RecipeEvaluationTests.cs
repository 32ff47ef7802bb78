using TrtEngine.Native.Kernels;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;
using TrtEngine.Native.Tests.Kernels;

namespace TrtEngine.Native.Tests.Plan;

/// <summary>
/// Large weights are packed in parts of their panels that the pool's threads share (and, a run this large, with
/// streaming stores): the result is bit for bit the whole recipe's, and a NaN in any part still leaves the source unproven.
/// </summary>
public sealed class RecipeEvaluationTests
{
    /// <summary>
    /// Recipes large enough to be split, each with a last panel only partly filled, and together to be streamed; divided
    /// by <paramref name="shrink"/>, small enough to run inline (a refit of a small model).
    /// </summary>
    private static (EngineWeight Weight, float[][] Sources)[] Cases(int shrink = 1)
    {
        var wide = GemmKernels.Tactics.First(t => t.Nr == 32);
        var narrow = GemmKernels.Tactics.First(t => t.Nr == 16 && !t.Wide);
        int n = 1001 / shrink, c = 501 / shrink, u = 300 / shrink;
        (WeightRecipe Recipe, float[][] Sources)[] recipes =
        [
            (WeightRecipe.PackGemmB("w", 300, n, true, 1f, narrow.Id), [Reference.Random(300 * n, 1)]),
            (WeightRecipe.PackConv("c", ("s", "v", 1e-5f), ConvPacking.Gemm, c, 64 * 9, 9, wide.Id),
                [Reference.Random(c * 64 * 9, 2), Reference.Random(c, 3), Reference.Random(c, 4).Select(v => 1 + Math.Abs(v)).ToArray()]),
            (WeightRecipe.PackConv("u", null, ConvPacking.Winograd4x4, u, 128 * 9, 9, narrow.Id), [Reference.Random(u * 128 * 9, 5)]),
            (WeightRecipe.PackConv("v", null, ConvPacking.Winograd2x2, u, 128 * 9, 9, wide.Id), [Reference.Random(u * 128 * 9, 7)]),
            (WeightRecipe.PackConv("t", null, ConvPacking.Winograd3x3, u, 128 * 9, 9, narrow.Id), [Reference.Random(u * 128 * 9, 8)]),
            (WeightRecipe.Identity("r"), [Reference.Random(n * 300, 6)]),
        ];
        return recipes.Select(r => (new EngineWeight(r.Recipe.Sources[0], [], r.Recipe, r.Recipe.OutputLength(r.Sources.Select(s => s.LongLength).ToArray())), r.Sources)).ToArray();
    }

    private static bool[] Run((EngineWeight Weight, float[][] Sources)[] cases, float[]?[] buffers, float[]?[]? copyFirst = null)
    {
        var finite = new bool[cases.Length];
        RecipeEvaluation.Run(cases.Select(c => c.Weight).ToArray(), Enumerable.Range(0, cases.Length).ToList(), cases.Select(c => c.Sources).ToArray(), buffers, finite,
                             WorkerPool.Shared, copyFirst);
        return finite;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(40)]
    public void A_first_source_copied_part_by_part_as_the_recipe_reads_it_arrives_whole_and_packs_the_same(int shrink)
    {
        var cases = Cases(shrink);
        var expected = cases.Select(c => c.Weight.Recipe.Evaluate(c.Sources)).ToArray();
        // Each part reads only the range it copied: any value it read before its copy would be a NaN.
        var originals = cases.Select(c => c.Sources[0]).ToArray();
        foreach (var (_, sources) in cases) sources[0] = Enumerable.Repeat(float.NaN, sources[0].Length).ToArray();
        var buffers = new float[]?[cases.Length];
        bool[] finite = Run(cases, buffers, originals);
        for (int i = 0; i < cases.Length; i++)
        {
            Assert.Equal(expected[i], buffers[i]);
            Assert.Equal(originals[i], cases[i].Sources[0]);
            Assert.True(finite[i], cases[i].Weight.Name);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(40)]
    public void Weights_packed_in_parts_or_inline_are_bit_identical_to_whole_recipes(int shrink)
    {
        var cases = Cases(shrink);
        if (shrink == 1)
        {
            Assert.All(cases.Where(c => c.Weight.Recipe.Panels > 1), c => Assert.True(c.Weight.Length >= 2 << 17, $"{c.Weight.Name} is not split"));
            Assert.True(RecipeEvaluation.Streams(cases.Sum(c => c.Weight.Length)), "not streamed");
        }
        else Assert.True(cases.Sum(c => c.Weight.Length) < WorkerPool.InlineFloats);
        var buffers = new float[]?[cases.Length];
        bool[] finite = Run(cases, buffers);
        for (int i = 0; i < cases.Length; i++)
        {
            Assert.Equal(cases[i].Weight.Recipe.Evaluate(cases[i].Sources), buffers[i]);
            Assert.True(finite[i], cases[i].Weight.Name);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(40)]
    public void A_non_finite_value_in_any_part_leaves_its_source_unproven(int shrink)
    {
        var cases = Cases(shrink);
        foreach (var (weight, sources) in cases) sources[0][^1] = float.NaN;   // in the last panel
        cases[0].Sources[0][^1] = 1f;
        cases[0].Sources[0][0] = float.PositiveInfinity;                          // in the first
        bool[] finite = Run(cases, new float[]?[cases.Length]);
        Assert.All(finite, Assert.False);
    }
}
