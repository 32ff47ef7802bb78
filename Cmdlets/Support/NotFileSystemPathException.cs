using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// A path on another PowerShell provider than the file system (env:NAME, variable:x, a relative path while the location
/// is Env:): its provider path names no file, and used as one it would be taken relative to the process's directory.
/// </summary>
internal sealed class NotFileSystemPathException(string path, ProviderInfo provider)
    : ArgumentException($"'{path}' is not a file system path: it is on PowerShell's {provider.Name} provider. Give the path of a file or folder" +
                        (provider.Name == "Environment" ? " (for the value of an environment variable, write $env:NAME)." : "."))
{
    public string Path { get; } = path;
}
