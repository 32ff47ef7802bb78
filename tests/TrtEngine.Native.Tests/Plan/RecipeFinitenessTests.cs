using TrtEngine.Native.Kernels;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Tests.Kernels;

namespace TrtEngine.Native.Tests.Plan;

/// <summary>
/// A recipe's claim that its first source is finite, which lets a refit skip scanning it for NaN and infinity: made
/// for finite values, and never made when any value, wherever it sits (whole tiles, tails, padding panels), is not.
/// </summary>
public sealed class RecipeFinitenessTests
{
    private const int OutC = 37, InC = 5;

    /// <summary>Recipes that read their first source whole, with the sources they take (the first one is probed).</summary>
    public static TheoryData<string> Recipes => new(Cases.Keys);

    private static readonly Dictionary<string, (WeightRecipe Recipe, Func<float[][]> Sources)> Cases = new()
    {
        ["identity"] = (WeightRecipe.Identity("w"), () => [Reference.Random(101, 1)]),
        ["scale"] = (WeightRecipe.Scale("w", 0.5f, 101), () => [Reference.Random(101, 1)]),
        ["gemm B"] = (WeightRecipe.PackGemmB("w", 23, OutC, false, 1f, 6), () => [Reference.Random(23 * OutC, 1)]),
        ["gemm B transposed"] = (WeightRecipe.PackGemmB("w", 23, OutC, true, 2f, 2), () => [Reference.Random(23 * OutC, 1)]),
        ["folded weight"] = (WeightRecipe.FoldBatchNormWeight("w", "s", "v", 1e-5f), () => [Reference.Random(OutC * 27, 1), Reference.Random(OutC, 2), Variance()]),
        ["conv gemm"] = (WeightRecipe.PackConv("w", null, ConvPacking.Gemm, OutC, InC * 9, 9, 7), () => [Reference.Random(OutC * InC * 9, 1)]),
        ["conv gemm folded"] = (WeightRecipe.PackConv("w", ("s", "v", 1e-5f), ConvPacking.Gemm, OutC, InC * 9, 9, 1), () => [Reference.Random(OutC * InC * 9, 1), Reference.Random(OutC, 2), Variance()]),
        ["conv depthwise"] = (WeightRecipe.PackConv("w", ("s", "v", 1e-5f), ConvPacking.Depthwise, OutC, 9, 9, -1), () => [Reference.Random(OutC * 9, 1), Reference.Random(OutC, 2), Variance()]),
        ["conv winograd 4x4"] = (WeightRecipe.PackConv("w", ("s", "v", 1e-5f), ConvPacking.Winograd4x4, OutC, InC * 9, 9, 2), () => [Reference.Random(OutC * InC * 9, 1), Reference.Random(OutC, 2), Variance()]),
        ["conv winograd 2x2"] = (WeightRecipe.PackConv("w", ("s", "v", 1e-5f), ConvPacking.Winograd2x2, OutC, InC * 9, 9, 2), () => [Reference.Random(OutC * InC * 9, 1), Reference.Random(OutC, 2), Variance()]),
        ["conv winograd 3x3"] = (WeightRecipe.PackConv("w", ("s", "v", 1e-5f), ConvPacking.Winograd3x3, OutC, InC * 9, 9, 2), () => [Reference.Random(OutC * InC * 9, 1), Reference.Random(OutC, 2), Variance()]),
    };

    private static float[] Variance() => Reference.Random(OutC, 3).Select(v => 0.5f + Math.Abs(v)).ToArray();

    [Theory]
    [MemberData(nameof(Recipes))]
    public void A_recipe_proves_its_first_source_finite_only_when_it_is(string name)
    {
        var (recipe, make) = Cases[name];
        float[][] sources = make();
        var result = recipe.NewBuffer(sources);
        Assert.True(recipe.Evaluate(sources, result), "finite values");
        int length = sources[0].Length;
        foreach (int index in new[] { 0, 5, length / 2, length - 9, length - 1 })
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                float[][] probed = [(float[])sources[0].Clone(), .. sources[1..]];
                probed[0][index] = bad;
                Assert.False(recipe.Evaluate(probed, result), $"{bad} at {index} of {length}");
            }
    }

    [Fact]
    public void Recipes_that_read_part_of_their_source_or_do_not_check_claim_nothing()
    {
        float[] one = [0.5f];
        Assert.False(WeightRecipe.Scale("w", 2f, 8).Evaluate([one], new float[8]));
        float[] channel = Reference.Random(OutC, 4);
        Assert.False(WeightRecipe.FoldBatchNormBias("b", "s", "t", "m", "v", 1e-5f).Evaluate([channel, channel, channel, channel, Variance()], new float[OutC]));
    }
}
