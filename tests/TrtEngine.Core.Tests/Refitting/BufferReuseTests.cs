using TrtEngine.Core.Refit;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;

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

        // An identity weight takes the parsed (pinned, never rewritten) array itself; the others are written.
        var recipes = engine.Native.Plan.Weights.Select(w => w.Recipe).ToArray();
        var indices = Enumerable.Range(0, recipes.Length).ToArray();
        Assert.Contains(recipes, r => r.Kind == RecipeKind.Identity);
        Assert.Contains(recipes, r => r.Kind != RecipeKind.Identity);

        var first = engine.Native.CurrentWeights!;
        engine.Refit(weights[1]);                 // swaps out the built set
        engine.Refit(weights[0]);                 // writes into the built set's buffers
        var third = engine.Native.CurrentWeights!;
        Assert.NotSame(first, third);
        Assert.All(indices, i => Assert.Same(recipes[i].Kind == RecipeKind.Identity ? weights[0][recipes[i].Sources[0]].Data : first.Buffers[i], third.Buffers[i]));
        Assert.Equal(expected[0], SmallCnn.Run(engine));

        var held = engine.Native.EnterState();    // an inference in flight on the current set
        var contents = held.Weights!.Buffers.Select(b => (float[])b.Clone()).ToArray();
        engine.Refit(weights[1]);                 // swaps it out while it is held
        engine.Refit(weights[0]);                 // must not write into it
        Assert.All(indices.Where(i => recipes[i].Kind != RecipeKind.Identity), i => Assert.NotSame(held.Weights!.Buffers[i], engine.Native.CurrentWeights!.Buffers[i]));
        Assert.All(indices, i => Assert.Equal(contents[i], held.Weights!.Buffers[i]));
        Assert.Equal(expected[0], SmallCnn.Run(engine));
        engine.Native.ExitState(held);
        engine.Refit(weights[1]);
        Assert.Equal(expected[1], SmallCnn.Run(engine));
    }

    /// <summary>
    /// Found by a QA helper: refits that change some weights carry the others into the new set by reference, so a set
    /// swapped out two refits ago shares buffers with the set an inference still holds. Only the swapped-out set's own
    /// holders were counted, so that set's buffers were rewritten (inferences mixed checkpoints) or handed back to the
    /// pool and rented by another engine while the held set still used them.
    /// </summary>
    [Fact]
    public void A_held_set_is_never_rewritten_or_handed_back_through_the_sets_that_share_its_buffers()
    {
        using var dir = new TempDirectory();
        string v1 = SmallCnn.Write(dir, 10), v2 = SmallCnn.Write(dir, 20);
        var engine = SmallCnn.Build(v1);
        var weights = new[] { WeightSources.FromFile(v1), WeightSources.FromFile(v2) };
        var names = weights[0].Keys.Order(StringComparer.Ordinal).ToArray();
        // Each refit changes half the weights, as fine-tuning with layers frozen in turn does.
        var halves = new[] { names.Where((_, i) => i % 2 == 0).ToArray(), names.Where((_, i) => i % 2 == 1).ToArray() };
        Dictionary<string, WeightValue> Half(int set, int half) => halves[half].ToDictionary(n => n, n => weights[set][n], StringComparer.Ordinal);

        var held = engine.Native.EnterState();    // an inference in flight on the built set
        var contents = held.Weights!.Buffers.Select(b => (float[])b.Clone()).ToArray();
        var values = held.ModelValues.Values.Select(v => (float[])v.Clone()).ToArray();
        for (int round = 0; round < 6; round++)
        {
            engine.Refit(Half((round / 2 + 1) % 2, round % 2), partial: true);
            engine.Native.RecycleRetired();
            // Another engine renting buffers meanwhile, as a conversion in the same process would.
            SmallCnn.Build(round % 2 == 0 ? v2 : v1).Refit(weights[round % 2]);
        }
        Assert.All(Enumerable.Range(0, contents.Length), i => Assert.Equal(contents[i], held.Weights!.Buffers[i]));
        Assert.Equal(values, held.ModelValues.Values.ToArray());
        engine.Native.ExitState(held);
        engine.Refit(weights[1]);
        Assert.Equal(SmallCnn.Run(SmallCnn.Build(v2)), SmallCnn.Run(engine));
    }
}
