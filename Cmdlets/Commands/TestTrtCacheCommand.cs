using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Verifies a cache's entries without loading engines and reports each; -Repair removes what is broken.</summary>
[Cmdlet(VerbsDiagnostic.Test, "TrtCache", SupportsShouldProcess = true)]
[OutputType(typeof(TrtCacheCheck))]
public sealed class TestTrtCacheCommand : TrtCmdletBase
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty] // an unset variable's empty string would resolve to the current folder
    public string? CacheDirectory { get; set; }

    /// <summary>Remove corrupt and incompatible entries and orphaned temporary directories.</summary>
    [Parameter]
    public SwitchParameter Repair { get; set; }

    /// <summary>Temporary directories younger than this may belong to a write in progress and are left alone.</summary>
    [Parameter]
    public TimeSpan OrphanAge { get; set; } = TimeSpan.FromMinutes(10);

    protected override void ProcessRecord()
    {
        var store = OpenCache(CacheDirectory);
        foreach (var check in store.Check(OrphanAge))
        {
            if (Repair && !check.IsHealthy && ShouldProcess(check.Path, $"Remove {check.Status.ToLowerInvariant()} item ({check.Problem})"))
            {
                try
                {
                    store.Repair(check);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
                {
                    WriteError(ErrorRecords.From(e, check));
                }
            }
            WriteObject(check);
        }
    }
}
