using TrtEngine.Core.Refit;
using TrtEngine.Native.Refit;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// How a refit judges supplied values: NaN and infinity are refused unless allowed, wherever a recipe reads them
/// (most are caught while their recipe packs them, the rest by a scan), and values once allowed are checked again
/// whenever supplied; "unchanged" means the same bits, so a zero whose sign changed is re-derived.
/// </summary>
public sealed class WeightValueChecksTests
{
    [Fact]
    public void Values_with_NaN_are_refused_and_once_allowed_are_refused_again_when_supplied_without_leave()
    {
        using var dir = new TempDirectory();
        string path = SmallCnn.Write(dir, 10);
        var engine = SmallCnn.Build(path);
        float[] before = SmallCnn.Run(engine);
        var weights = new Dictionary<string, WeightValue>(WeightSources.FromFile(path));
        float[] gamma = (float[])weights["gamma"].Data.Clone();
        gamma[2] = float.NaN;
        weights["gamma"] = new WeightValue([4], gamma);

        var refused = Assert.Throws<RefitException>(() => engine.Refit(weights));
        Assert.Contains(refused.Check.Mismatched, m => m.Name == "gamma" && m.Problem.Contains("index 2", StringComparison.Ordinal));
        Assert.Equal(before, SmallCnn.Run(engine));

        engine.Refit(weights, allowNonFinite: true);
        Assert.Contains(SmallCnn.Run(engine), float.IsNaN);
        // The same values again (bit for bit what the engine holds) are checked again, not waved through as unchanged.
        Assert.Throws<RefitException>(() => engine.Refit(weights));
        engine.Refit(WeightSources.FromFile(path));
        Assert.Equal(before, SmallCnn.Run(engine));
    }

    [Fact]
    public void A_weight_whose_only_change_is_the_sign_of_a_zero_is_re_derived()
    {
        using var dir = new TempDirectory();
        string path = SmallCnn.Write(dir, 10);
        var engine = SmallCnn.Build(path);
        var weights = new Dictionary<string, WeightValue>(WeightSources.FromFile(path));
        float[] bias = (float[])weights["bg"].Data.Clone();
        bias[1] = 0f;
        weights["bg"] = new WeightValue([5], bias);
        engine.Refit(weights);

        bias = (float[])bias.Clone();
        bias[1] = -0f;
        var result = engine.Refit(new Dictionary<string, WeightValue>(weights) { ["bg"] = new WeightValue([5], bias) });
        Assert.Equal(["bg"], result.ChangedModelWeights);
        Assert.NotEmpty(result.RecomputedWeights);
    }

    [Fact]
    public void Every_non_finite_value_is_listed_and_the_engine_is_left_as_it_was()
    {
        using var dir = new TempDirectory();
        string v1 = SmallCnn.Write(dir, 10), v2 = SmallCnn.Write(dir, 20);
        var engine = SmallCnn.Build(v1);
        // Two refits first, so the refused one writes into the spare set of buffers.
        engine.Refit(WeightSources.FromFile(v2));
        engine.Refit(WeightSources.FromFile(v1));
        float[] before = SmallCnn.Run(engine);
        var weights = new Dictionary<string, WeightValue>(WeightSources.FromFile(v2));
        // Packed weights (conv, GEMM, bias copy), and a variance whose infinity makes the folded weight finite zeros.
        (string Name, int Index, float Value)[] bad = [("w", 7, float.PositiveInfinity), ("wg", 19, float.NaN), ("bg", 4, float.NegativeInfinity), ("var", 1, float.PositiveInfinity)];
        foreach (var (name, index, value) in bad) Edit(weights, name, data => data[index] = value);

        var refused = Assert.Throws<RefitException>(() => engine.Refit(weights));
        Assert.Equal(bad.Select(b => b.Name).Order(), refused.Check.Mismatched.Select(m => m.Name).Order());
        Assert.All(bad, b => Assert.Contains(refused.Check.Mismatched, m => m.Name == b.Name && m.Problem.Contains($"index {b.Index} ", StringComparison.Ordinal)));
        Assert.Equal(before, SmallCnn.Run(engine));
        engine.Refit(WeightSources.FromFile(v2));
        Assert.Equal(SmallCnn.Run(SmallCnn.Build(v2)), SmallCnn.Run(engine));
    }

    [Fact]
    public void Finite_values_too_large_to_sum_are_accepted()
    {
        using var dir = new TempDirectory();
        string path = SmallCnn.Write(dir, 10);
        var weights = new Dictionary<string, WeightValue>(WeightSources.FromFile(path));
        Edit(weights, "wg", data => Array.Fill(data, 3e38f));
        var engine = SmallCnn.Build(path);

        Assert.Equal(["wg"], engine.Refit(weights).ChangedModelWeights);
        // Accepted as finite: the same values again are unchanged, not checked again as once-allowed values would be.
        Assert.Empty(engine.Refit(weights).ChangedModelWeights);
    }

    /// <summary>
    /// Finite model weights whose fold is not finite (a negative variance under the square root; a factor beyond float's
    /// range) are refused, naming the model weights and the engine weight, unless non-finite values are allowed; a check
    /// that scans values (-WhatIf's) computes the folds aside and reports the same.
    /// </summary>
    [Theory]
    [InlineData("var", -1f, "gamma", 1f)]
    [InlineData("var", 0f, "gamma", 3e38f)] // 3e38 / √(0 + 1e-5) overflows
    public void Finite_values_whose_folded_weights_are_not_finite_are_refused(string first, float firstValue, string second, float secondValue)
    {
        using var dir = new TempDirectory();
        string path = SmallCnn.Write(dir, 10);
        var engine = SmallCnn.Build(path);
        float[] before = SmallCnn.Run(engine);
        var weights = new Dictionary<string, WeightValue>(WeightSources.FromFile(path));
        Edit(weights, first, data => data[1] = firstValue);
        Edit(weights, second, data => data[1] = secondValue);

        var check = engine.CheckRefit(weights, partial: false);
        Assert.False(check.IsValid);
        Assert.True(engine.CheckRefit(weights, partial: false, allowNonFinite: true).IsValid);
        var refused = Assert.Throws<RefitException>(() => engine.Refit(weights));
        Assert.Contains(refused.Check.Mismatched, m => m.Name.Contains("gamma", StringComparison.Ordinal) && m.Name.Contains("var", StringComparison.Ordinal)
                                                      && m.Problem.Contains("not finite", StringComparison.Ordinal));
        Assert.Equal(refused.Check.Mismatched.Select(m => (m.Name, m.Problem)), check.Mismatched.Select(m => (m.Name, m.Problem)));
        Assert.Contains("not finite", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, SmallCnn.Run(engine));

        engine.Refit(weights, allowNonFinite: true);
        Assert.Contains(SmallCnn.Run(engine), v => !float.IsFinite(v));
    }

    /// <summary>Replaces a weight with an edited copy of its values.</summary>
    private static void Edit(Dictionary<string, WeightValue> weights, string name, Action<float[]> edit)
    {
        float[] data = (float[])weights[name].Data.Clone();
        edit(data);
        weights[name] = new WeightValue(weights[name].Shape, data);
    }
}
