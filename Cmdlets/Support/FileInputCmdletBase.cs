using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// A cmdlet that reads one file per pipeline item: -Path (wildcards; binds FullName, so Get-ChildItem output pipes in)
/// and its -LiteralPath twin (binds PSPath).
/// </summary>
public abstract class FileInputCmdletBase : TrtCmdletBase
{
    protected const string PathSet = "Path", LiteralPathSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    public string LiteralPath { get; set; } = "";

    /// <summary>The path as the user gave it, for messages and error targets.</summary>
    protected string GivenPath => IsLiteral ? LiteralPath : Path;

    protected bool IsLiteral => ParameterSetName == LiteralPathSet;
}
