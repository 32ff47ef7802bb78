namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// A path given to a cmdlet that names no file; ErrorId says which parameter's file it was (ModelNotFound,
/// WeightsNotFound, …), and FileName the path as given: the error's target.
/// </summary>
internal sealed class PathNotFoundException(string errorId, string message, string path) : FileNotFoundException(message, path)
{
    public string ErrorId { get; } = errorId;
}
