using TrtEngine.Core.Refit;
using TrtEngine.Native.Refit;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>Another engine as a weight source: its model weights, by name; an engine that does not hold them is refused clearly.</summary>
public sealed class SourceEngineTests
{
    [Fact]
    public void An_engine_refitted_from_another_engine_computes_exactly_what_the_other_computes()
    {
        using var dir = new TempDirectory();
        var target = SmallCnn.Build(SmallCnn.Write(dir, 10));
        var source = SmallCnn.Build(SmallCnn.Write(dir, 20));
        Assert.NotEqual(SmallCnn.Run(source), SmallCnn.Run(target));

        var result = target.Refit(WeightSources.FromEngine(source));
        Assert.Equal(source.ModelWeightCount, result.ModelWeights);
        Assert.Equal(SmallCnn.Run(source), SmallCnn.Run(target));

        // A refitted engine passes on the weights of its latest refit.
        var third = SmallCnn.RoundTrip(target, weights: false);
        third.Refit(WeightSources.FromEngine(target));
        Assert.Equal(SmallCnn.Run(source), SmallCnn.Run(third));
    }

    [Fact]
    public void An_engine_loaded_with_packed_weights_only_is_refused_until_it_is_refitted()
    {
        using var dir = new TempDirectory();
        string v2 = SmallCnn.Write(dir, 20);
        var target = SmallCnn.Build(SmallCnn.Write(dir, 10));
        float[] before = SmallCnn.Run(target);
        var imported = SmallCnn.RoundTrip(SmallCnn.Build(v2), weights: true);

        var error = Assert.Throws<SourceEngineException>(() => target.Refit(WeightSources.FromEngine(imported)));
        Assert.Contains("refit it from its model or a checkpoint first", error.Message);
        Assert.Contains("imported from a plan", error.Message);
        var stripped = Assert.Throws<SourceEngineException>(() => WeightSources.FromEngine(SmallCnn.RoundTrip(imported, weights: false)));
        Assert.Contains("no weights (weight-stripped)", stripped.Message);
        Assert.Equal(before, SmallCnn.Run(target));

        imported.Refit(WeightSources.FromFile(v2));
        target.Refit(WeightSources.FromEngine(imported));
        Assert.Equal(SmallCnn.Run(imported), SmallCnn.Run(target));
    }

    [Fact]
    public void Arrays_the_caller_changes_after_a_refit_change_neither_the_engine_nor_engines_refitted_from_it()
    {
        using var dir = new TempDirectory();
        var source = SmallCnn.Build(SmallCnn.Write(dir, 10));
        var weights = WeightSources.FromFile(SmallCnn.Write(dir, 20)).ToDictionary(w => w.Key, w => new WeightValue(w.Value.Shape, (float[])w.Value.Data.Clone()));
        source.Refit(weights);
        float[] refitted = SmallCnn.Run(source);
        weights["bg"].Data[0] += 1; // the engine keeps a copy of what the caller passed, not the caller's array

        Assert.Equal(refitted, SmallCnn.Run(source));
        var target = SmallCnn.Build(SmallCnn.Write(dir, 30));
        target.Refit(WeightSources.FromEngine(source));
        Assert.Equal(refitted, SmallCnn.Run(target));

        // Passed again, the changed array is compared with the engine's copy and applied.
        var outcome = source.Refit(weights);
        Assert.Equal(["bg"], outcome.ChangedModelWeights);
        Assert.NotEqual(refitted, SmallCnn.Run(source));
    }
}
