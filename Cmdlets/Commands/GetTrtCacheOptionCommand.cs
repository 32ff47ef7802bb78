using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Shows the cache directory and size limit in force, and where each comes from.</summary>
[Cmdlet(VerbsCommon.Get, "TrtCacheOption")]
[OutputType(typeof(TrtCacheOptions))]
public sealed class GetTrtCacheOptionCommand : PSCmdlet
{
    protected override void ProcessRecord()
    {
        try
        {
            WriteObject(CacheOptions.Current());
        }
        catch (InvalidDataException e) // a damaged settings file: its own error, which says how to mend it
        {
            ThrowTerminatingError(ErrorRecords.From(e, CacheOptions.SettingsPath));
        }
    }
}
