namespace TrtEngine.Native.Runtime;

// TEMP: replaced by the kernels branch.
public sealed class WorkerPool : IDisposable
{
    private static readonly Lazy<WorkerPool> SharedPool = new(() => new WorkerPool(Environment.ProcessorCount));
    public WorkerPool(int threadCount) => ThreadCount = Math.Max(1, threadCount);
    public int ThreadCount { get; }
    public static WorkerPool Shared => SharedPool.Value;
    public void For(int count, IParallelTask task) { for (int i = 0; i < count; i++) task.Execute(i); }
    public void Dispose() { }
}
