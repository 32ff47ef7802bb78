namespace TrtEngine.Core.Tests;

/// <summary>Locations tests read from: the repository and the shared real models next to it.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>../shared/models relative to the repository root; absent on machines without it.</summary>
    public static string SharedModels => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "models"));

    public static string ExampleModels => Path.Combine(RepositoryRoot, "examples", "models");

    /// <summary>The path of a shared model, skipping the test when the shared folder is absent.</summary>
    public static string SharedModel(string fileName)
    {
        var path = Path.Combine(SharedModels, fileName);
        Skip.IfNot(File.Exists(path), $"shared model {path} is not present");
        return path;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Module.sln")))
                return directory.FullName;
        }
        throw new InvalidOperationException($"no Module.sln above {AppContext.BaseDirectory}");
    }
}
