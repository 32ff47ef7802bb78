using TrtEngine.Native.Runtime;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>Checks every fused layer's tests make of an engine holding one: contexts at once, and calls that allocate nothing.</summary>
internal static class EngineChecks
{
    /// <summary>
    /// Three contexts run <paramref name="x"/> at once, twenty rounds: each gives <paramref name="expected"/>. A context
    /// that finds the pool busy runs every unit of work on its own thread, one after the other.
    /// </summary>
    public static void AssertContextsAtOnceMatch(Engine engine, float[] x, float[] expected)
    {
        var contexts = Enumerable.Range(0, 3).Select(_ => engine.CreateExecutionContext()).ToArray();
        var outputs = contexts.Select(_ => new float[expected.Length]).ToArray();
        for (int round = 0; round < 20; round++)
        {
            Parallel.For(0, contexts.Length, i => contexts[i].Execute([x], [outputs[i]]));
            foreach (var y in outputs) Assert.Equal(expected, y);
        }
    }

    /// <summary>After a first call, five more on the same context allocate nothing.</summary>
    public static void AssertSteadyStateAllocatesNothing(Engine engine, float[] x)
    {
        var context = engine.CreateExecutionContext();
        var y = new float[context.GetOutputShape(0).Aggregate(1, (a, d) => a * d)];
        context.Execute([x], [y]);
        AssertAllocatesNothing(() => context.Execute([x], [y]), 5);
    }

    /// <summary>
    /// <paramref name="calls"/> calls of <paramref name="call"/> allocate nothing on this thread (the calling thread runs
    /// units of work too; counted on it alone, so tests running alongside do not count). Now and then the per-thread
    /// count grows by a few hundred bytes in a window where nothing was allocated (seen at arithmetic-only steps of a
    /// fused layer, one run in three of its test class alone), so up to three rounds are measured: an allocation on
    /// the path shows in every one.
    /// </summary>
    public static void AssertAllocatesNothing(Action call, int calls)
    {
        var rounds = new List<long>();
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) call();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0) return;
            rounds.Add(allocated);
        }
        Assert.Fail($"{calls} calls allocated {string.Join(", then ", rounds)} bytes in three rounds.");
    }
}
