using TrtEngine.Native.Builder;

namespace TrtEngine.Native.Tests.Builder;

/// <summary>
/// Which timed candidate the builder keeps: the fastest, unless one at most 15% slower has at most two thirds the weight
/// of the heaviest candidate within those 15%, that weight 1 MiB or more (timed alone, a heavy weight stays in the caches;
/// in the network it comes from memory). Weights below in units of 10,000 floats.
/// </summary>
public sealed class TacticChoiceTests
{
    private static int Choose(params (long Weight, double Time)[] candidates) =>
        TacticSelector.Fastest(candidates, candidates.Select(c => c.Time).ToArray(), c => c.Weight * 10_000);

    [Fact]
    public void The_fastest_wins_without_a_much_lighter_candidate_close_to_it()
    {
        Assert.Equal(1, Choose((100, 1.2), (100, 1.0), (100, 1.05)));
        Assert.Equal(0, Choose((100, 1.0), (67, 1.01)));   // more than two thirds of the weight
        Assert.Equal(0, Choose((36, 1.0), (25, 1.01)));    // F(3×3) against F(4×4): 25/36
        Assert.Equal(0, Choose((100, 1.0), (40, 1.16)));   // too slow
    }

    [Fact]
    public void A_candidate_with_at_most_two_thirds_the_weight_within_15_percent_wins_the_fastest_of_them()
    {
        Assert.Equal(1, Choose((99, 1.0), (66, 1.15)));
        Assert.Equal(2, Choose((100, 1.0), (44, 1.12), (25, 1.08), (25, 1.3)));
    }

    [Fact]
    public void The_weight_is_compared_with_the_heaviest_close_candidate_not_only_the_fastest()
    {
        // F(3×3) fastest (25 units), F(4×4) close behind (36): F(2×2) (16) has under half of F(4×4)'s weight.
        Assert.Equal(2, Choose((36, 1.05), (25, 1.0), (16, 1.1)));
        // The fastest light itself (im2col, 9) stays: a slower light one (F(2×2), 16) does not take its place.
        Assert.Equal(0, Choose((9, 1.0), (36, 1.05), (16, 1.1)));
        Assert.Equal(2, Choose((9, 2.0), (36, 1.05), (16, 1.0), (16, 1.1)));
        // F(4×4) too slow to count: F(2×2) has 16/25 of F(3×3)'s weight, under two thirds, so it takes F(3×3)'s place.
        Assert.Equal(2, Choose((360, 1.2), (250, 1.0), (160, 1.1)));
        // Below 1 MiB even for the heaviest close one: the fastest.
        long small = TacticSelector.LighterWeightMinimumFloats - 1;
        Assert.Equal(1, TacticSelector.Fastest(new[] { small, small / 2, small / 4 }, [1.05, 1.0, 1.1], w => w));
    }

    [Fact]
    public void Without_a_middle_weight_the_choice_is_the_one_the_fastest_s_weight_gave()
    {
        // im2col (9), F(4×4) (36) and F(3×3) (25, over two thirds of F(4×4)'s) with a few tactics each (panel padding
        // moves weights a little; all over 1 MiB): the rule comparing with the fastest's weight, against the rule as it is.
        var random = new Random(7);
        for (int draw = 0; draw < 20_000; draw++)
        {
            var candidates = Enumerable.Range(0, random.Next(2, 10)).Select(_ => ((long)new[] { 9, 36, 25 }[random.Next(3)] * 100 + random.Next(3), 1 + random.NextDouble() * 0.4)).ToArray();
            double[] times = candidates.Select(c => c.Item2).ToArray();
            int best = Array.IndexOf(times, times.Min()), old = best;
            for (int i = 0; i < candidates.Length; i++)
                if (3 * candidates[i].Item1 <= 2 * candidates[best].Item1 && times[i] <= 1.15 * times[best] && (old == best || times[i] < times[old]))
                    old = i;
            Assert.Equal(old, TacticSelector.Fastest(candidates, times, c => c.Item1 * 1000));
        }
    }

    [Fact]
    public void Below_1_MiB_the_fastest_wins_whatever_it_weighs()
    {
        long small = TacticSelector.LighterWeightMinimumFloats - 1;
        Assert.Equal(0, TacticSelector.Fastest(new[] { small, small / 4 }, [1.0, 1.05], w => w));
        Assert.Equal(1, TacticSelector.Fastest(new[] { small + 1, small / 4 }, [1.0, 1.05], w => w));
    }

    [Fact]
    public void Timing_without_weights_to_compare_keeps_the_fastest()
    {
        Assert.Equal(1, TacticSelector.Fastest(new[] { "a", "b" }, [2.0, 1.0], null));
    }
}
