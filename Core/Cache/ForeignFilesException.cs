namespace TrtEngine.Core.Cache;

/// <summary>
/// A directory of the cache holds things the store did not write (a user's folder whose name looks like a key, say):
/// the store refuses to delete it and touches nothing in it.
/// </summary>
/// <param name="action">What was refused: remove, pin, unpin.</param>
public sealed class ForeignFilesException(string directory, IReadOnlyList<string> items, string action = "remove")
    : IOException($"Did not {action} '{directory}': it holds files the engine cache did not write ({Describe(items)}), and nothing in it was touched. " +
                  "It may be a folder of yours inside the cache directory: check it, and remove it by hand if it should go.")
{
    public string Directory { get; } = directory;

    /// <summary>The names of the foreign items (a folder's with a trailing slash).</summary>
    public IReadOnlyList<string> Items { get; } = items;

    internal static string Describe(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(10)) + (items.Count > 10 ? $", … ({items.Count} in all)" : "");
}
