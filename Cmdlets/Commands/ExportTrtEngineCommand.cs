using System.Management.Automation;
using TrtEngine.Cmdlets.Support;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Writes an engine to a plan file, with its weights or weight-stripped (small, still refittable).</summary>
[Cmdlet(VerbsData.Export, "TrtEngine", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(FileInfo))]
public sealed class ExportTrtEngineCommand : TrtCmdletBase
{
    private const string PathSet = "Path", LiteralPathSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public Core.Engines.TrtEngine Engine { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    public string LiteralPath { get; set; } = "";

    [Parameter]
    public SwitchParameter ExcludeWeights { get; set; }

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string target = ParameterSetName == LiteralPathSet ? LiteralPath : Path;
        try
        {
            string path = ResolveOutputPath(target);
            if (File.Exists(path) && !Force)
                throw new IOException($"'{path}' already exists; use -Force to overwrite it.");
            if (!ShouldProcess(path, $"Export engine '{Engine.Name}' {(ExcludeWeights ? "without" : "with")} weights")) return;
            if (!ExcludeWeights && !Engine.HasWeights)
                WriteWarning($"Engine '{Engine.Name}' has no weights; the exported plan is weight-stripped.");
            WriteAtomically(path, stream => Engine.Export(stream, !ExcludeWeights));
            if (PassThru) WriteObject(new FileInfo(path));
        }
        catch (Exception e)
        {
            WriteError(ErrorRecords.From(e, target));
        }
    }
}
