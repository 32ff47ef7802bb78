namespace TrtEngine.Native.Runtime;

public interface IParallelTask
{
    void Execute(int index);
}
