using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// What argument completers ask of the session they complete for, through a nested pipeline in the current runspace
/// (as PowerShell's own completers do; its SessionStateProxy is off limits while the completion pipeline runs).
/// </summary>
internal static class CompletionSession
{
    public static object? Invoke(Action<PowerShell> command)
    {
        if (Runspace.DefaultRunspace is null) return null;
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        command(ps);
        return ps.Invoke().FirstOrDefault()?.BaseObject;
    }

    /// <summary>A path as typed, made absolute against the session's file-system location (not the process's), with ~ expanded.</summary>
    public static string FullPath(string path)
    {
        // An existing path through the session's providers, as the cmdlet will resolve it: a PSDrive's (Q:/models)
        // means nothing to the file system. One that does not exist yet completes nothing either way.
        if (Invoke(ps => ps.AddCommand("Resolve-Path").AddParameter("LiteralPath", path)) is PathInfo resolved && resolved.Provider.Name == "FileSystem")
            return resolved.ProviderPath;
        string? here = (Invoke(ps => ps.AddCommand("Get-Location").AddParameter("PSProvider", "FileSystem")) as PathInfo)?.ProviderPath;
        if (path.StartsWith('~')) path = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..];
        return Path.GetFullPath(here is null ? path : Path.Combine(here, path));
    }
}
