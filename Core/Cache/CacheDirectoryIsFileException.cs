namespace TrtEngine.Core.Cache;

/// <summary>
/// The cache directory is a file, or lies under one: read as an empty cache it would list, check and remove nothing
/// without a word, and every write would fail with "the file already exists".
/// </summary>
public sealed class CacheDirectoryIsFileException(string directory, string file)
    : IOException(directory == file
        ? $"The cache directory '{directory}' is a file, not a folder. Give the path of a folder for the cache (New-TrtEngine creates one that does not exist yet)."
        : $"The cache directory '{directory}' cannot be a folder: '{file}' is a file, not a folder. Give the path of a folder for the cache (New-TrtEngine creates one that does not exist yet).")
{
    public string Directory { get; } = directory;

    /// <summary>The file in the way: the cache directory itself, or a folder above it.</summary>
    public string FilePath { get; } = file;
}
