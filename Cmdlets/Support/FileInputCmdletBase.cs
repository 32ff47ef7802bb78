using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// A cmdlet that reads files, each in turn: -Path (paths or wildcards, one or several) and its -LiteralPath twin. Piped
/// files bind to -LiteralPath (PSPath, or FullName for a FileInfo made outside a provider), so a name with brackets is
/// not a pattern.
/// </summary>
public abstract class FileInputCmdletBase : TrtCmdletBase
{
    protected const string PathSet = "Path", LiteralPathSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP", "FullName")]
    public string[] LiteralPath { get; set; } = [];

    private bool IsLiteral => ParameterSetName == LiteralPathSet;

    /// <summary>The error id when the path names no file (ModelNotFound, …).</summary>
    protected abstract string NotFoundId { get; }

    /// <summary>Every file each path names (a pattern may match several), each processed in turn; a path that names none is an error, and the others go on.</summary>
    protected sealed override void ProcessRecord()
    {
        foreach (string given in IsLiteral ? LiteralPath : Path)
        {
            IReadOnlyList<string> files;
            try
            {
                files = ResolveFiles(given, IsLiteral, NotFoundId);
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(ErrorRecords.From(e, given));
                continue;
            }
            foreach (string file in files) ProcessFile(file);
        }
    }

    /// <summary>Reads one existing file and writes its object, or an error with the file as target.</summary>
    protected abstract void ProcessFile(string file);
}
