using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Forgets the saved cache directory and size limit (or those named), so that their defaults apply again.</summary>
[Cmdlet(VerbsCommon.Reset, "TrtCacheOption", SupportsShouldProcess = true)]
[OutputType(typeof(TrtCacheOptions))]
public sealed class ResetTrtCacheOptionCommand : TrtCmdletBase
{
    /// <summary>The options to reset: CacheDirectory, SizeLimit, or both (the default).</summary>
    [Parameter(Position = 0)]
    [ValidateSet("CacheDirectory", "SizeLimit")]
    public string[] Name { get; set; } = ["CacheDirectory", "SizeLimit"];

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        bool directory = Name.Contains("CacheDirectory", StringComparer.OrdinalIgnoreCase), sizeLimit = Name.Contains("SizeLimit", StringComparer.OrdinalIgnoreCase);
        string what = string.Join(" and ", new[] { directory ? "cache directory" : null, sizeLimit ? "size limit" : null }.OfType<string>());
        try
        {
            if (!ShouldProcess(CacheOptions.SettingsPath, $"Reset the saved {what} to the default")) return;
            if (CacheOptions.Reset(directory, sizeLimit) is { } damaged)
                WriteWarning($"The settings file was damaged and has been replaced by one that keeps no saved option (every one is at its default now); what it held is kept in {damaged}.");
            if (directory && Environment.GetEnvironmentVariable("TRTENGINE_CACHE_DIR") is { Length: > 0 } env)
                WriteWarning($"TRTENGINE_CACHE_DIR is set ({env}) and takes precedence over the default cache directory.");
            if (PassThru) WriteObject(CacheOptions.Current());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(ErrorRecords.From(e, CacheOptions.SettingsPath));
        }
    }
}
