namespace TrtEngine.Core.Weights;

/// <summary>What a pickle builds by calling a class or function the reader does not interpret: kept as data, never run.</summary>
internal sealed class PickleObject(PickleGlobal? callable, object?[] args)
{
    public PickleGlobal? Callable { get; } = callable;

    public object?[] Args { get; } = args;

    /// <summary>What BUILD set on it (the instance's __dict__ or __setstate__ argument), or null.</summary>
    public object? State { get; set; }
}
