namespace TrtEngine.Cmdlets.Support;

/// <summary>A path given to a cmdlet that names no file; ErrorId says which parameter's file it was (ModelNotFound, WeightsNotFound, …).</summary>
internal sealed class PathNotFoundException(string errorId, string message) : FileNotFoundException(message)
{
    public string ErrorId { get; } = errorId;
}
