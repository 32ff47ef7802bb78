using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Runtime;

/// <summary>Parts of a pool loop claimed home first: each part once, a thread's own share first and in order, the rest stolen.</summary>
public class PartClaimsTests
{
    /// <summary>Each loop index claims parts until none is left, recording who ran which part and in what order.</summary>
    private sealed class ClaimingTask(int parts, int participants) : IParallelTask
    {
        private PartClaims _claims = Start(parts, participants);
        public readonly int[] Runs = new int[parts];
        public readonly int[] Worker = new int[parts];
        public readonly List<int>[] Order = Enumerable.Range(0, 8).Select(_ => new List<int>()).ToArray();

        private static PartClaims Start(int parts, int participants)
        {
            var claims = new PartClaims();
            claims.Reset(parts, participants);
            return claims;
        }

        public void Execute(int index)
        {
            for (int walk = 0, part; (part = _claims.Next(ref walk)) >= 0;)
            {
                Interlocked.Increment(ref Runs[part]);
                Worker[part] = WorkerPool.CurrentWorker;
                lock (Order) Order[WorkerPool.CurrentWorker].Add(part);
                Thread.SpinWait(200);
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 8)]
    [InlineData(2, 3)]
    [InlineData(3, 12)]
    public void Every_part_runs_once_and_each_thread_starts_with_its_own_share_in_order(int threads, int parts)
    {
        using var pool = new WorkerPool(threads);
        for (int round = 0; round < 50; round++)
        {
            var task = new ClaimingTask(parts, Math.Min(threads, parts));
            pool.For(Math.Min(threads, parts), task);
            Assert.All(task.Runs, runs => Assert.Equal(1, runs));
            for (int worker = 0; worker < threads; worker++)
            {
                // A thread that took part in the loop claimed its share's first part first; its own parts come in order.
                var order = task.Order[worker];
                int first = parts * worker / Math.Min(threads, parts), end = parts * (worker + 1) / Math.Min(threads, parts);
                if (order.Count == 0 || first >= end) continue;
                var own = order.Where(p => p >= first && p < end).ToList();
                Assert.Equal(own.Order(), own);
                if (own.Count > 0) Assert.Equal(own[0], order[0]);
            }
        }
    }

    [Fact]
    public void One_thread_alone_takes_its_share_then_the_rest_from_the_end()
    {
        // The calling thread is worker 0 of any pool: its share of 10 parts over 2 is 0–4; then 9 down to 5.
        var claims = new PartClaims();
        claims.Reset(10, 2);
        var order = new List<int>();
        for (int walk = 0, part; (part = claims.Next(ref walk)) >= 0;) order.Add(part);
        Assert.Equal([0, 1, 2, 3, 4, 9, 8, 7, 6, 5], order);
        // Reset clears the claims for the next loop.
        claims.Reset(3, 2);
        order.Clear();
        for (int walk = 0, part; (part = claims.Next(ref walk)) >= 0;) order.Add(part);
        Assert.Equal([0, 2, 1], order);
    }

    [Fact]
    public void Workers_know_their_place_in_the_pool()
    {
        using var pool = new WorkerPool(3);
        var seen = new int[3];
        var gate = new Barrier(3);
        pool.For(3, new ActionTask(_ =>
        {
            Interlocked.Increment(ref seen[WorkerPool.CurrentWorker]);
            gate.SignalAndWait(TimeSpan.FromSeconds(10)); // all three indices run at once, one a thread
        }));
        Assert.Equal([1, 1, 1], seen);
        Assert.Equal(0, WorkerPool.CurrentWorker);
    }

    private sealed class ActionTask(Action<int> action) : IParallelTask
    {
        public void Execute(int index) => action(index);
    }
}
