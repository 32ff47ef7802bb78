using System.Runtime.Intrinsics;
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
        { 37, 300, 1, 1 }, // 1×1 over three 128-column chunks, the last one with a partial tile
        { 5, 3, 5, 2 },
        { 40, 35, 3, 3 }, // whole 8×8 tiles with a partial one, over two 144-column chunks and part of a third
        { 20, 40, 7, 7 }, // 784-column chunks, the last one partial
        { 17, 20, 13, 13 }, // chunks too long for the stack's offset table (2,704 columns), the last one partial
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

    /// <summary>The kernel transform G of each tile size ([m + 2, 3]).</summary>
    private static readonly Dictionary<ConvPacking, double[,]> WinogradG = new()
    {
        [ConvPacking.Winograd4x4] = new[,]
        {
            { 0.25, 0, 0 }, { -1 / 6.0, -1 / 6.0, -1 / 6.0 }, { -1 / 6.0, 1 / 6.0, -1 / 6.0 },
            { 1 / 24.0, 1 / 12.0, 1 / 6.0 }, { 1 / 24.0, -1 / 12.0, 1 / 6.0 }, { 0, 0, 1 },
        },
        [ConvPacking.Winograd3x3] = new[,]
        {
            { 0.5, 0, 0 }, { -0.5, -0.5, -0.5 }, { -1 / 6.0, 1 / 6.0, -1 / 6.0 }, { 1 / 6.0, 1 / 3.0, 2 / 3.0 }, { 0, 0, 1 },
        },
        [ConvPacking.Winograd2x2] = new[,] { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } },
    };

    [Theory]
    [InlineData(ConvPacking.Winograd4x4)]
    [InlineData(ConvPacking.Winograd3x3)]
    [InlineData(ConvPacking.Winograd2x2)]
    public void Winograd_packing_transforms_the_folded_weight_for_every_tactic(ConvPacking form)
    {
        const int outC = 37, inC = 5;
        double[,] g = WinogradG[form];
        int size = g.GetLength(0), positions = size * size;
        float[] w = Reference.Random(outC * inC * 9, 5), scale = Reference.Random(outC, 6), variance = Reference.Random(outC, 7).Select(v => 0.5f + Math.Abs(v)).ToArray();
        float[] folded = WeightRecipe.FoldBatchNormWeight("w", "s", "v", 1e-3f).Evaluate([w, scale, variance]);
        foreach (var tactic in GemmKernels.Tactics)
        {
            // Reference: U[p][c, o] = (G · folded[o, c] · Gᵀ)[p], each position packed by the GEMM's own packer.
            int perPosition = GemmKernels.PackedLength(inC, outC, tactic);
            var expected = new float[positions * perPosition];
            var b = new float[inC * outC];
            for (int p = 0; p < positions; p++)
            {
                for (int o = 0; o < outC; o++)
                    for (int c = 0; c < inC; c++)
                    {
                        double u = 0;
                        for (int i = 0; i < 3; i++)
                            for (int j = 0; j < 3; j++)
                                u += g[p / size, i] * folded[(o * inC + c) * 9 + i * 3 + j] * g[p % size, j];
                        b[c * outC + o] = (float)u;
                    }
                fixed (float* pb = b, pe = expected)
                    GemmKernels.PackB(pb, inC, outC, false, 1f, tactic, pe + p * perPosition);
            }

            var recipe = WeightRecipe.PackConv("w", ("s", "v", 1e-3f), form, outC, inC * 9, 9, tactic.Id);
            float[] packed = recipe.Evaluate([w, scale, variance]);
            Assert.Equal(expected.Length, recipe.OutputLength([w.Length, scale.Length, variance.Length]));
            Assert.True(Reference.RelativeL2(packed, Array.ConvertAll(expected, v => (double)v)) < 1e-7, $"{tactic.Name}: {Reference.RelativeL2(packed, Array.ConvertAll(expected, v => (double)v)):E2}");
            // Folding inside the recipe multiplies by the same floats as FoldBatchNormWeight: transforming its output is bit-identical.
            Assert.Equal(WeightRecipe.PackConv("w", null, form, outC, inC * 9, 9, tactic.Id).Evaluate([folded]), packed);
        }
    }

    [Fact]
    public void Winograd_packing_gives_the_same_bits_on_256_and_512_bit_vectors()
    {
        Compare<WinogradF4x4>();
        Compare<WinogradF3x3>();
        Compare<WinogradF2x2>();
    }

    private static void Compare<TW>() where TW : struct, IWinogradTransform
    {
        if (!GemmMicroKernels.WideSupported) return;   // one width only here: nothing to compare
        const int outC = 70, inC = 11;   // a partial last panel and partial blocks of input channels
        float[] w = Reference.Random(outC * inC * 9, 8), factors = Reference.Random(outC, 9);
        foreach (var tactic in GemmKernels.Tactics.Where(t => t.Nr % 16 == 0))
        {
            var narrow = new float[WinogradTransforms.PackedLength(TW.Tile, inC, outC, tactic)];
            var wide = new float[narrow.Length];
            fixed (float* pw = w, pf = factors, pn = narrow, pd = wide)
            {
                float sumNarrow = WinogradTransforms.PackWeights<TW, Float256, Vector256<float>>(pw, outC, inC, pf, tactic, pn, 0, GemmKernels.PanelCount(outC, tactic), stream: false);
                float sumWide = WinogradTransforms.PackWeights<TW, Float512, Vector512<float>>(pw, outC, inC, pf, tactic, pd, 0, GemmKernels.PanelCount(outC, tactic), stream: false);
                Assert.Equal(sumNarrow, sumWide);
            }
            Assert.Equal(narrow, wide);
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
