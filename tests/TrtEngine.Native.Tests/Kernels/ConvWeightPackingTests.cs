using TrtEngine.Native.Kernels;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>The PackConv recipe: fold, then pack, bit-identical to folding with FoldBatchNormWeight and packing the reordered weight.</summary>
public sealed unsafe class ConvWeightPackingTests
{
    public static TheoryData<int, int, int, int> Shapes => new()
    {
        { 37, 10, 3, 3 },  // an edge panel for every tactic width
        { 64, 16, 1, 1 },  // 1×1: no reorder
        { 5, 3, 5, 2 },
        { 40, 35, 3, 3 }, // whole 8×8 tiles with a partial one, over several 128-column chunks that split a channel's taps
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Gemm_packing_folds_then_packs_exactly_for_every_tactic(int outC, int inC, int kh, int kw)
    {
        int taps = kh * kw, k = inC * taps;
        float[] w = Reference.Random(outC * k, 1), scale = Reference.Random(outC, 2), variance = Reference.Random(outC, 3).Select(v => 0.5f + Math.Abs(v)).ToArray();
        float[] folded = WeightRecipe.FoldBatchNormWeight("w", "s", "v", 1e-3f).Evaluate([w, scale, variance]);
        foreach (var tactic in GemmKernels.Tactics)
        {
            // Reference: B[t·inC + c, o] = folded[o, c, t], packed by the GEMM's own packer.
            var b = new float[k * outC];
            for (int o = 0; o < outC; o++)
                for (int c = 0; c < inC; c++)
                    for (int t = 0; t < taps; t++)
                        b[(t * inC + c) * outC + o] = folded[(o * inC + c) * taps + t];
            var expected = new float[GemmKernels.PackedLength(k, outC, tactic)];
            fixed (float* pb = b, pe = expected)
                GemmKernels.PackB(pb, k, outC, false, 1f, tactic, pe);

            var recipe = WeightRecipe.PackConv("w", ("s", "v", 1e-3f), ConvPacking.Gemm, outC, k, taps, tactic.Id);
            Assert.Equal(expected, recipe.Evaluate([w, scale, variance]));
            Assert.Equal(expected.Length, recipe.OutputLength([w.Length, scale.Length, variance.Length]));
        }
    }

    [Theory]
    [InlineData(13, 9)]
    [InlineData(40, 25)]
    public void Depthwise_packing_puts_channels_innermost(int channels, int taps)
    {
        float[] w = Reference.Random(channels * taps, 4);
        float[] packed = WeightRecipe.PackConv("w", null, ConvPacking.Depthwise, channels, taps, taps, -1).Evaluate([w]);
        for (int o = 0; o < channels; o++)
            for (int t = 0; t < taps; t++)
                Assert.Equal(w[o * taps + t], packed[t * channels + o]);
    }

    [Fact]
    public void Depthwise_packing_folds_each_channel_by_its_factor()
    {
        const int channels = 19, taps = 9;
        float[] w = Reference.Random(channels * taps, 5), scale = Reference.Random(channels, 6), variance = Reference.Random(channels, 7).Select(v => 0.5f + Math.Abs(v)).ToArray();
        float[] folded = WeightRecipe.FoldBatchNormWeight("w", "s", "v", 1e-5f).Evaluate([w, scale, variance]);
        float[] packed = WeightRecipe.PackConv("w", ("s", "v", 1e-5f), ConvPacking.Depthwise, channels, taps, taps, -1).Evaluate([w, scale, variance]);
        for (int o = 0; o < channels; o++)
            for (int t = 0; t < taps; t++)
                Assert.Equal(folded[o * taps + t], packed[t * channels + o]);
    }
}
