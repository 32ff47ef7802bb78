using Xunit.Abstractions;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// Trial counts: the default run is bounded for CI; TRTENGINE_SOAK=1 runs the full counts the reliability report
/// cites. Each test writes one summary line to out/reliability/NAME.txt (and the test output) for docs/reliability.md.
/// </summary>
internal static class Soak
{
    public static bool Enabled => Environment.GetEnvironmentVariable("TRTENGINE_SOAK") == "1";

    public static int Trials(int normal, int soak) => Enabled ? soak : normal;

    public static void Report(ITestOutputHelper output, string name, string line)
    {
        string stamped = $"{DateTime.UtcNow:yyyy-MM-dd HH:mm}Z {(Enabled ? "soak" : "default")}: {line}";
        output.WriteLine(stamped);
        try
        {
            string dir = Path.Combine(TestPaths.RepositoryRoot, "out", "reliability");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, name + (Enabled ? ".soak" : "") + ".txt"), stamped + Environment.NewLine);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            output.WriteLine($"(not saved under out/reliability: {e.Message})"); // a read-only checkout still runs the trials
        }
    }
}
