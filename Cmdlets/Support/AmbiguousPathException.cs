namespace TrtEngine.Cmdlets.Support;

/// <summary>A wildcard path that matches several files where a cmdlet takes one; Pattern, the path as given, is the error's target.</summary>
internal sealed class AmbiguousPathException(string pattern, int count)
    : ArgumentException($"'{pattern}' matches {count} files; give one.")
{
    public string Pattern { get; } = pattern;
}
