namespace TrtEngine.Native.Runtime;

/// <summary>An inference input that does not fit the engine: unknown or missing name, wrong rank, size or length.</summary>
public sealed class EngineInputException(string message) : ArgumentException(message);
