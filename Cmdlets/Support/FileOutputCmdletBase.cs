using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// A cmdlet that writes files: -Force overwrites an existing file, -PassThru writes each file written (as Get-Item
/// shows it), and one command never overwrites a file it wrote itself (several piped items sent to one path).
/// </summary>
public abstract class FileOutputCmdletBase : TrtCmdletBase
{
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/> once ShouldProcess(path, action) agrees: beside it
    /// first, then renamed into place, so a failed write never leaves half a file.
    /// </summary>
    /// <param name="again">Why writing to a path this command wrote already is refused, and what to do instead.</param>
    /// <param name="createFolder">Create a missing folder (else a missing folder is an error that names it).</param>
    protected void WriteFile(string path, string action, string again, Action<Stream> write, bool createFolder = false)
    {
        if (Directory.Exists(path)) throw new IOException($"'{path}' is a folder; give the path of a file to write.");
        if (_written.Contains(path)) throw new IOException($"'{path}' was already written by this command; {again}.");
        if (File.Exists(path) && !Force) throw new FileExistsException(path);
        if (!ShouldProcess(path, action)) return;
        string folder = System.IO.Path.GetDirectoryName(path)!;
        if (File.Exists(folder)) throw new IOException($"'{folder}' is a file, not a folder; give a folder to write into.");
        if (createFolder) Directory.CreateDirectory(folder);
        else if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"The folder '{folder}' does not exist; create it first (New-Item -ItemType Directory).");
        // Named after the file's first 64 characters (at most 192 bytes in UTF-8, a surrogate pair kept whole): the whole
        // name plus the suffix could pass the file system's 255-byte limit where the name alone does not.
        string name = System.IO.Path.GetFileName(path);
        int cut = Math.Min(name.Length, 64);
        if (cut < name.Length && char.IsHighSurrogate(name[cut - 1])) cut--;
        string temp = System.IO.Path.Combine(folder, $"{name[..cut]}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                write(stream);
            // Without -Force, a file that appeared while ShouldProcess asked is not replaced either.
            File.Move(temp, path, overwrite: Force);
        }
        catch (IOException) when (!Force && File.Exists(path))
        {
            throw new FileExistsException(path);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        _written.Add(path);
        // Forced: a file whose name starts with '.' is hidden from the provider otherwise.
        if (PassThru) WriteObject(SessionState.InvokeProvider.Item.Get([path], force: true, literalPath: true), enumerateCollection: true);
    }
}
