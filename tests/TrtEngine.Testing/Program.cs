using TrtEngine.Testing.Fixtures;

namespace TrtEngine.Testing;

/// <summary>
/// Regenerates the fixtures shipped in examples/models. From the repository root:
///   dotnet run --project tests/TrtEngine.Testing -- fixtures examples/models
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["fixtures", var directory])
        {
            TinyMlpFixtures.Write(directory);
            Console.WriteLine($"wrote the tiny_mlp fixtures to {Path.GetFullPath(directory)}");
            return 0;
        }
        Console.Error.WriteLine("usage: TrtEngine.Testing fixtures <dir>");
        return 2;
    }
}
