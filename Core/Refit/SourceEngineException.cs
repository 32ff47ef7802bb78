namespace TrtEngine.Core.Refit;

/// <summary>An engine given as a weight source that cannot provide its model weights.</summary>
public sealed class SourceEngineException(string message) : Exception(message);
