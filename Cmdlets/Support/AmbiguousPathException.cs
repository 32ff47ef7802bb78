namespace TrtEngine.Cmdlets.Support;

/// <summary>A wildcard path that matches several items where a cmdlet takes one; Pattern, the path as given, is the error's target.</summary>
internal sealed class AmbiguousPathException(string pattern, IReadOnlyList<string> matches, string what)
    : ArgumentException($"'{pattern}' matches {matches.Count} {what} ({string.Join(", ", matches.Take(3))}{(matches.Count > 3 ? ", …" : "")}); give one.")
{
    public string Pattern { get; } = pattern;
}
