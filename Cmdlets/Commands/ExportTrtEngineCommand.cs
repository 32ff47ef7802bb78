using System.Management.Automation;
using TrtEngine.Cmdlets.Support;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Writes an engine to a plan file, with its weights or weight-stripped (small, still refittable).</summary>
[Cmdlet(VerbsData.Export, "TrtEngine", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(FileInfo))]
public sealed class ExportTrtEngineCommand : FileOutputCmdletBase
{
    // A piped engine's set puts the path first, so `$engine | Export-TrtEngine ./x.engine` binds it.
    private const string PathSet = "Path", PipedPathSet = "PipedPath", LiteralPathSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = PipedPathSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = LiteralPathSet)]
    public Core.Engines.TrtEngine Engine { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PipedPathSet)]
    [SupportsWildcards]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    public string LiteralPath { get; set; } = "";

    [Parameter]
    public SwitchParameter ExcludeWeights { get; set; }

    protected override void ProcessRecord()
    {
        string target = ParameterSetName == LiteralPathSet ? LiteralPath : Path;
        try
        {
            // Before the checks below: a disposed engine would otherwise be warned about as one without weights.
            if (Engine.IsDisposed) throw new Native.Runtime.EngineDisposedException(Engine.Name);
            string path = ResolveOutputPath(target, literal: ParameterSetName == LiteralPathSet);
            WriteFile(path, $"Export engine '{Engine.Name}' {(ExcludeWeights ? "without" : "with")} weights",
                      $"engine '{Engine.Name}' would overwrite it. Give each engine its own path", stream =>
                      {
                          if (!ExcludeWeights && !Engine.HasWeights)
                              WriteWarning($"Engine '{Engine.Name}' has no weights; the exported plan is weight-stripped.");
                          Engine.Export(stream, !ExcludeWeights);
                      });
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e, Engine));
        }
    }
}
