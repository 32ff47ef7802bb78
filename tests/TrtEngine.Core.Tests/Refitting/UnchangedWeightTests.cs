using TrtEngine.Core.Refit;
using TrtEngine.Native.Refit;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// Refit re-derives only the engine weights whose model weights changed (bit for bit) and shares the rest:
/// identical weights cost no recipe and keep the very same buffers; one changed weight re-derives exactly its users.
/// </summary>
public sealed class UnchangedWeightTests
{
    [Fact]
    public void Refitting_identical_weights_recomputes_nothing_and_keeps_the_same_buffers()
    {
        using var dir = new TempDirectory();
        string path = SmallCnn.Write(dir, 10);
        var engine = SmallCnn.Build(path);
        var buffers = engine.Native.CurrentWeights;
        float[] before = SmallCnn.Run(engine);

        var result = engine.Refit(WeightSources.FromFile(path)); // freshly parsed arrays with the same values
        Assert.Empty(result.RecomputedWeights);
        Assert.Empty(result.ChangedModelWeights);
        Assert.Same(buffers, engine.Native.CurrentWeights);
        Assert.Equal(before, SmallCnn.Run(engine));
        Assert.Equal(1, engine.RefitCount);
    }

    [Fact]
    public void What_if_calls_a_weight_unchanged_only_where_the_refit_keeps_it_bit_for_bit()
    {
        // Found by a QA helper: -0 for a bias of zeros was reported unchanged (float equality), and the refit changed it.
        using var dir = new TempDirectory();
        var engine = SmallCnn.Build(SmallCnn.Write(dir, 10));
        engine.Refit(new Dictionary<string, WeightValue> { ["bg"] = new([5], new float[5]) }, partial: true);
        var minusZero = new Dictionary<string, WeightValue> { ["bg"] = new([5], Enumerable.Repeat(-0f, 5).ToArray()) };

        Assert.Empty(engine.UnchangedWeights(minusZero));
        var result = engine.Refit(minusZero, partial: true);
        Assert.Equal(["bg"], result.ChangedModelWeights);
        Assert.Equal(["bg"], engine.UnchangedWeights(minusZero));
    }

    [Fact]
    public void Changing_one_weight_re_derives_exactly_the_engine_weights_that_read_it()
    {
        using var dir = new TempDirectory();
        string path = SmallCnn.Write(dir, 10);
        var engine = SmallCnn.Build(path);
        var plan = engine.Native.Plan;
        var before = (float[][])engine.Native.CurrentWeights!.Buffers.Clone();
        var weights = new Dictionary<string, WeightValue>(WeightSources.FromFile(path));
        weights["var"] = new WeightValue([4], weights["var"].Data.Select(v => v * 1.25f).ToArray());

        var result = engine.Refit(weights);
        var readers = plan.Weights.Where(w => w.Recipe.Sources.Contains("var")).Select(w => w.Name).ToList();
        Assert.Equal(2, readers.Count); // the folded convolution weight and bias
        Assert.Equal(readers.Order(), result.RecomputedWeights.Order());
        Assert.Equal(["var"], result.ChangedModelWeights);
        var after = engine.Native.CurrentWeights!.Buffers;
        for (int i = 0; i < after.Length; i++)
            if (readers.Contains(plan.Weights[i].Name)) Assert.NotSame(before[i], after[i]);
            else Assert.Same(before[i], after[i]);

        // The shared buffers and the re-derived ones together are exactly what a full re-derivation gives.
        var full = SmallCnn.RoundTrip(SmallCnn.Build(path), weights: false);
        full.Refit(weights);
        Assert.Equal(SmallCnn.Run(full), SmallCnn.Run(engine));
    }

    [Fact]
    public void A_partial_refit_of_one_fused_source_takes_its_partners_from_the_kept_model_weights()
    {
        using var dir = new TempDirectory();
        string path = SmallCnn.Write(dir, 10);
        var v1 = WeightSources.FromFile(path);
        var gamma = new WeightValue([4], v1["gamma"].Data.Select(v => v - 0.5f).ToArray());
        var engine = SmallCnn.Build(path);

        var result = engine.Refit(new Dictionary<string, WeightValue> { ["gamma"] = gamma }, partial: true);
        Assert.Equal(2, result.RecomputedWeights.Count);
        var expected = SmallCnn.Build(path);
        expected.Refit(new Dictionary<string, WeightValue>(v1) { ["gamma"] = gamma });
        Assert.Equal(SmallCnn.Run(expected), SmallCnn.Run(engine));

        // An engine loaded with packed weights only does not know the partners and asks for them.
        var imported = SmallCnn.RoundTrip(SmallCnn.Build(path), weights: true);
        var refused = Assert.Throws<RefitException>(() => imported.Refit(new Dictionary<string, WeightValue> { ["gamma"] = gamma }, partial: true));
        Assert.Equal(new[] { "b", "beta", "mean", "var", "w" }, refused.Check.Missing.Order(StringComparer.Ordinal));
    }
}
