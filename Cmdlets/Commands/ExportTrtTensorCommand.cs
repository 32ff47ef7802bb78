using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Tensors;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Saves tensors as .npy files (numpy's np.load reads them): one file by -Path, or one per tensor in -Directory.</summary>
[Cmdlet(VerbsData.Export, "TrtTensor", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(FileInfo))]
public sealed class ExportTrtTensorCommand : FileOutputCmdletBase
{
    private const string PathSet = "Path", LiteralPathSet = "LiteralPath", DirectorySet = "Directory";

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [TensorTransformation]
    public TrtTensor InputObject { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [SupportsWildcards]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    public string LiteralPath { get; set; } = "";

    /// <summary>A folder to write each tensor to as &lt;Name&gt;.npy (created if missing).</summary>
    [Parameter(Mandatory = true, ParameterSetName = DirectorySet)]
    [SupportsWildcards]
    public string Directory { get; set; } = "";

    protected override void ProcessRecord()
    {
        var tensor = InputObject;
        try
        {
            // A tensor made by hand ([TrtTensor]::new(), a hashtable) may lack what an engine's outputs always have.
            if (tensor.Shape is null || tensor.Data is null)
                throw new ArgumentException($"The tensor{(string.IsNullOrEmpty(tensor.Name) ? "" : $" '{tensor.Name}'")} has no {(tensor.Shape is null ? "Shape" : "Data")}; " +
                                            "give one with Shape and Data, as Invoke-TrtEngine and Import-TrtTensor write them.");
            string path = ParameterSetName switch
            {
                DirectorySet => System.IO.Path.Combine(ResolveOutputPath(Directory, literal: false, "Give an existing folder, or a new one's name without them."), FileName(tensor.Name ?? "")),
                LiteralPathSet => ResolveOutputPath(LiteralPath),
                _ => ResolveOutputPath(Path, literal: false),
            };
            // Another extension would hold .npy bytes under a name that promises something else (a .json of binary).
            if (!path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"Export-TrtTensor writes NumPy .npy files, and '{path}' does not end in .npy: give a file name that does (np.load and Import-TrtTensor read it).");
            WriteFile(path, $"Export tensor '{tensor.Name}' [{string.Join(", ", tensor.Shape)}]",
                      ParameterSetName == DirectorySet ? $"tensor '{tensor.Name}' makes the file name of an earlier tensor; export tensors of one name to different folders"
                                                       : $"tensor '{tensor.Name}' would overwrite it. Use -Directory to write one file per tensor",
                      stream => NpyFile.Write(stream, tensor.Shape, tensor.Data, tensor.DataType), createFolder: ParameterSetName == DirectorySet);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e, tensor));
        }
    }

    /// <summary>
    /// Tensor names are graph names ("/fc/Gemm_output_0"): characters no file name may hold become '_', and leading
    /// dots go (a name like "../x" would otherwise make a hidden file).
    /// </summary>
    private static string FileName(string name)
    {
        var invalid = System.IO.Path.GetInvalidFileNameChars().Append('/').Append('\\').ToHashSet();
        string safe = new string(name.Select(c => invalid.Contains(c) ? '_' : c).ToArray()).TrimStart('.', ' ').TrimEnd();
        return (safe.Trim('.').Length == 0 ? "tensor" : safe) + ".npy";
    }
}
