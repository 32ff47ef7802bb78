using TrtEngine.Core.Refit;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// A refit writes re-derived weights into the buffers of the set the previous refit swapped out, but only once no
/// inference holds that set: a held set is never written, and the engine's outputs stay exact either way.
/// </summary>
public sealed class BufferReuseTests
{
    [Fact]
    public void A_swapped_out_set_lends_its_buffers_only_when_no_one_holds_it()
    {
        using var dir = new TempDirectory();
        string v1 = SmallCnn.Write(dir, 10), v2 = SmallCnn.Write(dir, 20);
        var engine = SmallCnn.Build(v1);
        var weights = new[] { WeightSources.FromFile(v1), WeightSources.FromFile(v2) };
        float[][] expected = [SmallCnn.Run(engine), SmallCnn.Run(SmallCnn.Build(v2))];

        var first = engine.Native.CurrentWeights!;
        engine.Refit(weights[1]);                 // swaps out the built set
        engine.Refit(weights[0]);                 // writes into the built set's buffers
        var third = engine.Native.CurrentWeights!;
        Assert.NotSame(first, third);
        Assert.All(engine.Native.Plan.Weights.Select((_, i) => i), i => Assert.Same(first.Buffers[i], third.Buffers[i]));
        Assert.Equal(expected[0], SmallCnn.Run(engine));

        var held = engine.Native.EnterState();    // an inference in flight on the current set
        engine.Refit(weights[1]);                 // swaps it out while it is held
        engine.Refit(weights[0]);                 // must not write into it
        Assert.All(engine.Native.Plan.Weights.Select((_, i) => i), i => Assert.NotSame(held.Weights!.Buffers[i], engine.Native.CurrentWeights!.Buffers[i]));
        Assert.Equal(expected[0], SmallCnn.Run(engine));
        engine.Native.ExitState(held);
        engine.Refit(weights[1]);
        Assert.Equal(expected[1], SmallCnn.Run(engine));
    }
}
