using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Tensors;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Reads .npy files (numpy's np.save format) as float32 tensors, named after their files.</summary>
[Cmdlet(VerbsData.Import, "TrtTensor", DefaultParameterSetName = PathSet)]
[OutputType(typeof(TrtTensor))]
public sealed class ImportTrtTensorCommand : FileInputCmdletBase
{
    /// <summary>The tensor's name; by default the file name without .npy (so it can feed the input of that name).</summary>
    [Parameter]
    public string? Name { get; set; }

    protected override string NotFoundId => "TensorFileNotFound";

    protected override void ProcessFile(string file)
    {
        try
        {
            WriteObject(NpyFile.Read(file, Name));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e, file));
        }
    }
}
