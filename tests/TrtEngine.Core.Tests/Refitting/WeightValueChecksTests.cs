using TrtEngine.Core.Refit;
using TrtEngine.Native.Refit;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// How a refit judges supplied values: NaN and infinity are refused unless allowed, and values once allowed are
/// checked again whenever supplied; "unchanged" means the same bits, so a zero whose sign changed is re-derived.
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
}
