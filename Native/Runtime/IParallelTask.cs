namespace TrtEngine.Native.Runtime;

/// <summary>A unit of parallel work; implementations are reused across calls so dispatch allocates nothing.</summary>
public interface IParallelTask
{
    void Execute(int index);
}
