namespace TrtEngine.Cmdlets.Support;

/// <summary>A file a cmdlet would write exists already, and -Force was not given to overwrite it.</summary>
internal sealed class FileExistsException(string path) : IOException($"'{path}' already exists; use -Force to overwrite it.");
