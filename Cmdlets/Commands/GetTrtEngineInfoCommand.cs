using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Engines;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Inspects an engine: layers after fusion, the model nodes each came from, chosen tactics and times, weights with their recipes.</summary>
[Cmdlet(VerbsCommon.Get, "TrtEngineInfo")]
[OutputType(typeof(TrtEngineInfo))]
public sealed class GetTrtEngineInfoCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public Core.Engines.TrtEngine Engine { get; set; } = null!;

    protected override void ProcessRecord()
    {
        try
        {
            WriteObject(TrtEngineInfo.From(Engine));
        }
        catch (EngineDisposedException e)
        {
            WriteError(ErrorRecords.From(e, Engine));
        }
    }
}
