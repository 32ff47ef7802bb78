using TrtEngine.Core.Refit;
using TrtEngine.Native.Plan;

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
}
