using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace TrtEngine.Native.Runtime;

/// <summary>
/// A fixed set of worker threads for short data-parallel loops. The calling thread takes part in every loop.
/// Concurrency: one loop runs on the pool at a time; a caller that finds the pool busy (another thread's loop,
/// or a nested call from inside a task) runs its loop inline on its own thread instead of waiting.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    // Idle workers spin this long before blocking: back-to-back layers then start without a kernel wake-up.
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    private const int Closed = int.MaxValue;

    private static readonly Lazy<WorkerPool> SharedPool = new(() => new WorkerPool(Environment.ProcessorCount));

    private readonly Thread[] _threads;
    private readonly object _gate = new();

    // High 32 bits: loop generation; low 32 bits: next index to claim. Claiming by CAS on the whole word means
    // a worker that wakes late for an old loop can never claim an index of a newer one.
    private long _state;
    private IParallelTask? _task;
    private int _count;
    private int _completed;
    private int _busy;
    private int _sleepers;
    private volatile bool _disposed;
    private Exception? _error;

    public WorkerPool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ThreadCount = threadCount;
        _threads = new Thread[threadCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int id = i + 1;
            _threads[i] = new Thread(() => { t_worker = id; WorkerLoop(); }) { IsBackground = true, Name = $"TrtEngine worker {id}" };
            _threads[i].Start();
        }
    }

    [ThreadStatic] private static int t_worker;

    /// <summary>
    /// The calling thread's place in its pool: 0 for a caller, 1 to ThreadCount − 1 for the pool's workers; what gives a
    /// thread the same share of every loop's parts (<see cref="PartClaims"/>).
    /// </summary>
    public static int CurrentWorker => t_worker;

    /// <summary>Total workers, the calling thread included.</summary>
    public int ThreadCount { get; }

    /// <summary>A process-wide pool with one worker per logical processor, created on first use.</summary>
    public static WorkerPool Shared => SharedPool.Value;

    /// <summary>
    /// Runs <c>task.Execute(i)</c> for every i in [0, count) and returns when all have finished. Index 0 always runs on
    /// the calling thread.
    /// </summary>
    public void For(int count, IParallelTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (count <= 0)
            return;
        if (count == 1 || _threads.Length == 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++)
                task.Execute(i);
            return;
        }

        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long generation = (Volatile.Read(ref _state) >> 32) + 1;
            // Close the new generation before touching the fields, so a late worker of the previous loop
            // (whose CAS now fails) can never pair an old index with the new task.
            Interlocked.Exchange(ref _state, (generation << 32) | Closed);
            _task = task;
            _count = count;
            _completed = 0;
            _error = null;
            long start = generation << 32;
            // Opened with index 0 claimed by the caller, which runs it at once: work that must stay on the calling thread
            // (a file's opening, which may run the caller's name mapping) goes there, and no worker can take it.
            Interlocked.Exchange(ref _state, start + 1); // full fence: publishes the fields above before the wake check
            if (Volatile.Read(ref _sleepers) > 0)
            {
                lock (_gate)
                    Monitor.PulseAll(_gate);
            }

            Run(task, 0);
            RunIndices(start);
            var spinner = new SpinWait();
            while (Volatile.Read(ref _completed) < count)
                spinner.SpinOnce(sleep1Threshold: -1);

            _task = null;
            if (_error is { } error)
                ExceptionDispatchInfo.Capture(error).Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Whether no worker is blocked (each is running a loop or spinning after one), so a loop started now would have them
    /// at once. Where some sleep, wakes them without waiting, to spin for <see cref="SpinTicks"/> in case a loop comes
    /// (the caller's next), and returns false. For loops worth sharing only with workers already awake.
    /// </summary>
    public bool AwakeOrWaking()
    {
        if (Volatile.Read(ref _sleepers) == 0) return true;
        lock (_gate)
            Monitor.PulseAll(_gate);
        return false;
    }

    /// <summary>Floats below which <see cref="For(int, long, Action{int})"/> runs its loop inline.</summary>
    public const long InlineFloats = 1 << 18;

    /// <summary>
    /// Runs <c>body(i)</c> for every i in [0, count), on the pool when the loop touches at least 256K floats in all
    /// (<paramref name="floats"/>, about 20 µs of packing), inline below that, where waking the workers would cost more
    /// than it saves (the caller runs indices itself meanwhile, so a worker that wakes late costs only the wake-up).
    /// For loops off the inference path, where a delegate may allocate.
    /// </summary>
    public void For(int count, long floats, Action<int> body) => For(count, floats, body, static (body, i) => body(i));

    /// <summary>
    /// <see cref="For(int, long, Action{int})"/> with the loop's state passed along rather than captured: with a static
    /// <paramref name="body"/>, a loop run inline allocates nothing (a small model's refit runs its loops so).
    /// </summary>
    public void For<TState>(int count, long floats, TState state, Action<TState, int> body)
    {
        if (floats >= InlineFloats) For(count, new DelegateTask<TState>(state, body));
        else for (int i = 0; i < count; i++) body(state, i);
    }

    private sealed class DelegateTask<TState>(TState state, Action<TState, int> body) : IParallelTask
    {
        public void Execute(int index) => body(state, index);
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        lock (_gate)
            Monitor.PulseAll(_gate);
        foreach (var thread in _threads)
            thread.Join();
    }

    /// <summary>Claims and runs indices of the loop that started with state <paramref name="start"/>.</summary>
    private void RunIndices(long start)
    {
        long generation = start >> 32;
        while (true)
        {
            long state = Volatile.Read(ref _state);
            if (state >> 32 != generation)
                return;
            int index = (int)state;
            var task = _task;
            int count = _count;
            if (index >= count || task is null)
                return;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) != state)
                continue;
            Run(task, index);
        }
    }

    private void Run(IParallelTask task, int index)
    {
        try
        {
            task.Execute(index);
        }
        catch (Exception ex)
        {
            Interlocked.CompareExchange(ref _error, ex, null);
        }
        Interlocked.Increment(ref _completed);
    }

    private void WorkerLoop()
    {
        // The generation the pool was made at, not the one this thread first sees: a thread that starts late (a loaded
        // machine) would otherwise take a loop begun before it ran for one it had seen, and leave its parts to the caller.
        long seen = 0;
        while (true)
        {
            long state = WaitForNewGeneration(seen);
            if (_disposed)
                return;
            seen = state >> 32;
            RunIndices(state & ~0xFFFF_FFFFL);
        }
    }

    private static bool IsNewLoop(long state, long seenGeneration) => state >> 32 != seenGeneration && (int)state != Closed;

    private long WaitForNewGeneration(long seen)
    {
        while (true)
        {
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            while (!_disposed)
            {
                long state = Volatile.Read(ref _state);
                if (IsNewLoop(state, seen))
                    return state;
                if (Stopwatch.GetTimestamp() > deadline)
                    break;
                Thread.SpinWait(20);
            }

            lock (_gate)
            {
                Interlocked.Increment(ref _sleepers); // full fence before re-checking, pairs with For's exchange
                try
                {
                    long state = Volatile.Read(ref _state);
                    if (IsNewLoop(state, seen) || _disposed)
                        return state;
                    Monitor.Wait(_gate);
                    state = Volatile.Read(ref _state);
                    if (IsNewLoop(state, seen) || _disposed)
                        return state;
                }
                finally
                {
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            // Woken before a loop (AwakeOrWaking: a caller expects one soon): spin for it again.
        }
    }

}
