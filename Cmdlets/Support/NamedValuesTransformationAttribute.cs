using System.Collections;
using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// Binds an object's properties as a hashtable of named values (name → value), so a JSON file of inputs or weights
/// read with ConvertFrom-Json (without -AsHashtable) or an object back from Import-Clixml can be given as it is.
/// </summary>
internal sealed class NamedValuesTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        if (inputData is not PSObject { BaseObject: PSCustomObject } properties) return inputData;
        var table = new Hashtable(StringComparer.Ordinal);
        foreach (var property in properties.Properties) table[property.Name] = property.Value;
        return table;
    }
}
