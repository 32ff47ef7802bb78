using System.Collections;
using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// Binds a tensor given as an object with Shape and Data (one back from Import-Clixml, Receive-Job or ConvertFrom-Json,
/// or made by hand, as an object or a hashtable) as Invoke-TrtEngine reads one, its numbers checked as they become float32; PowerShell's own
/// conversion would make a value beyond float32's range an infinity without a word.
/// </summary>
internal sealed class TensorTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData) => inputData switch
    {
        PSObject { BaseObject: PSCustomObject } properties => InputConversion.FromProperties(properties),
        IDictionary or PSObject { BaseObject: IDictionary } => InputConversion.FromProperties((IDictionary)(inputData is PSObject wrapped ? wrapped.BaseObject : inputData)),
        _ => inputData,
    };
}
