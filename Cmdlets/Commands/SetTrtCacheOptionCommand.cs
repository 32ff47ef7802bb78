using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Sets the default cache directory and size limit for this user, persistently.</summary>
[Cmdlet(VerbsCommon.Set, "TrtCacheOption", SupportsShouldProcess = true)]
[OutputType(typeof(TrtCacheOptions))]
public sealed class SetTrtCacheOptionCommand : TrtCmdletBase
{
    [Parameter]
    [ValidateNotNullOrEmpty] // an unset variable's empty string would resolve to the current folder
    public string? CacheDirectory { get; set; }

    /// <summary>Bytes the cache may take on disk (PowerShell's 2GB, 500MB literals work).</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long? SizeLimit { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (CacheDirectory is null && SizeLimit is null)
        {
            WriteError(new ErrorRecord(new ArgumentException("Give -CacheDirectory, -SizeLimit or both."), "NothingToSet", ErrorCategory.InvalidArgument, CacheOptions.SettingsPath));
            return;
        }
        try
        {
            string? directory = CacheDirectory is null ? null : ResolveOutputPath(CacheDirectory);
            // A file in the folder's place is refused now, not at every later use of the cache.
            if (directory is not null) new DiskEngineStore(directory).Exists();
            string change = string.Join(", ", new[] { directory is null ? null : $"cache directory {directory}", SizeLimit is null ? null : $"size limit {ByteSize.Format(SizeLimit.Value)}" }.Where(c => c is not null));
            if (!ShouldProcess(CacheOptions.SettingsPath, $"Set {change}")) return;
            if (CacheOptions.Save(directory, SizeLimit) is { } damaged)
                WriteWarning($"The settings file was damaged and has been replaced by one that keeps only what this call set (any other option is at its default now); what it held is kept in {damaged}.");
            if (Environment.GetEnvironmentVariable("TRTENGINE_CACHE_DIR") is { Length: > 0 } env && directory is not null)
                WriteWarning($"TRTENGINE_CACHE_DIR is set ({env}) and takes precedence over the saved cache directory.");
            if (PassThru) WriteObject(CacheOptions.Current());
        }
        catch (CacheDirectoryIsFileException e)
        {
            WriteError(ErrorRecords.From(e, e.Directory));
        }
        catch (NotFileSystemPathException e)
        {
            WriteError(ErrorRecords.From(e, e.Path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
        {
            WriteError(ErrorRecords.From(e, CacheOptions.SettingsPath));
        }
    }
}
