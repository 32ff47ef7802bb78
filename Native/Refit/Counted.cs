namespace TrtEngine.Native.Refit;

/// <summary>Counts as the messages about weights write them: "1 weight", "2 weights".</summary>
public static class Counted
{
    public static string Of(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
