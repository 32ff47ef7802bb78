namespace TrtEngine.Core.Tests;

/// <summary>A fresh directory for one test's files, deleted afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public DirectoryInfo Info { get; } = Directory.CreateTempSubdirectory("trtengine-tests-");

    public string Path => Info.FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Info.Delete(recursive: true);
}
