using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Runtime;

public class WorkerPoolTests
{
    private sealed class CountingTask(int count) : IParallelTask
    {
        public readonly int[] Hits = new int[count];

        public void Execute(int index) => Interlocked.Increment(ref Hits[index]);
    }

    private sealed class ThrowingTask(int bad) : IParallelTask
    {
        public int Ran;

        public void Execute(int index)
        {
            Interlocked.Increment(ref Ran);
            if (index == bad)
                throw new InvalidOperationException("bad index");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryIndexRunsExactlyOnce(int threads)
    {
        using var pool = new WorkerPool(threads);
        foreach (int count in new[] { 0, 1, 2, 3, 17, 1000 })
        {
            for (int round = 0; round < 50; round++)
            {
                var task = new CountingTask(count);
                pool.For(count, task);
                Assert.All(task.Hits, hits => Assert.Equal(1, hits));
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ExceptionPropagatesAfterAllIndicesFinish(int threads)
    {
        using var pool = new WorkerPool(threads);
        var task = new ThrowingTask(bad: 5);
        var error = Assert.Throws<InvalidOperationException>(() => pool.For(40, task));
        Assert.Equal("bad index", error.Message);
        if (threads > 1)
            Assert.Equal(40, task.Ran);
        var next = new CountingTask(10); // the pool stays usable
        pool.For(10, next);
        Assert.All(next.Hits, hits => Assert.Equal(1, hits));
    }

    private sealed class FirstIndexThread : IParallelTask
    {
        public int Thread;

        public void Execute(int index)
        {
            if (index == 0) Thread = Environment.CurrentManagedThreadId;
            System.Threading.Thread.SpinWait(50); // long enough for awake workers to claim the other indices
        }
    }

    /// <summary>
    /// A refit's file is opened by index 0, which may run the caller's name mapping: with spinning workers (three or more
    /// threads) taking both indices of a loop of two, no one opened it and the refit hung.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Index_0_runs_on_the_calling_thread_however_many_workers_are_awake(int count)
    {
        using var pool = new WorkerPool(4);
        for (int round = 0; round < 2000; round++)
        {
            var task = new FirstIndexThread();
            pool.For(count, task);
            Assert.Equal(Environment.CurrentManagedThreadId, task.Thread);
        }
    }

    [Fact]
    public async Task ConcurrentCallersAreSafe()
    {
        using var pool = new WorkerPool(3);
        var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int round = 0; round < 300; round++)
            {
                var task = new CountingTask(13);
                pool.For(13, task);
                Assert.All(task.Hits, hits => Assert.Equal(1, hits));
            }
        })).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void NestedCallRunsInline()
    {
        using var pool = new WorkerPool(2);
        var inner = new CountingTask(5);
        var outer = new DelegateTask(_ => pool.For(5, inner));
        pool.For(4, outer);
        Assert.All(inner.Hits, hits => Assert.Equal(4, hits));
    }

    [Fact]
    public async Task DisposeDoesNotHang()
    {
        var pool = new WorkerPool(4);
        pool.For(8, new CountingTask(8));
        Thread.Sleep(5); // let the workers go from spinning to blocking
        await Task.Run(pool.Dispose).WaitAsync(TimeSpan.FromSeconds(10));
        pool.Dispose();
    }

    [Fact]
    public void DelegateLoopsRunEveryIndexOnceAndStayOnTheCallerWhenSmall()
    {
        using var pool = new WorkerPool(3);
        foreach (long floats in new[] { 0L, 1L << 20 })
        {
            var hits = new int[100];
            var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
            pool.For(hits.Length, floats, i =>
            {
                Interlocked.Increment(ref hits[i]);
                threads[Environment.CurrentManagedThreadId] = true;
                Thread.SpinWait(2000);
            });
            Assert.All(hits, h => Assert.Equal(1, h));
            if (floats == 0) Assert.Equal([Environment.CurrentManagedThreadId], threads.Keys);
        }
    }

    [Fact]
    public void A_sleeping_worker_is_woken_without_a_loop_and_spins_until_one_comes()
    {
        using var pool = new WorkerPool(2);
        Assert.True(WaitUntil(() => !pool.AwakeOrWaking() || Sleep()), "the worker never went to sleep");
        // That call woke it: it spins now (until its spin time runs out, then sleeps again; the next call wakes it).
        Assert.True(WaitUntil(pool.AwakeOrWaking), "the worker was not woken");
        var task = new CountingTask(64);
        pool.For(64, task);
        Assert.All(task.Hits, hits => Assert.Equal(1, hits));
        Assert.True(WaitUntil(() => !pool.AwakeOrWaking() || Sleep()), "the worker did not go back to sleep");
    }

    private static bool Sleep()
    {
        Thread.Sleep(1);
        return false;
    }

    private static bool WaitUntil(Func<bool> condition)
    {
        var limit = System.Diagnostics.Stopwatch.StartNew();
        while (limit.Elapsed < TimeSpan.FromSeconds(10))
            if (condition()) return true;
        return false;
    }

    [Fact]
    public void SharedPoolUsesAllProcessors() => Assert.Equal(Environment.ProcessorCount, WorkerPool.Shared.ThreadCount);

    private sealed class DelegateTask(Action<int> action) : IParallelTask
    {
        public void Execute(int index) => action(index);
    }
}
