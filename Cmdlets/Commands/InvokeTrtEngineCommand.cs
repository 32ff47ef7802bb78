using System.Collections;
using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Engines;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Runs an engine on named inputs (arrays, tensors or .npy files) and writes one tensor per output.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "TrtEngine", DefaultParameterSetName = EngineSet)]
[OutputType(typeof(TrtTensor))]
public sealed class InvokeTrtEngineCommand : TrtCmdletBase
{
    // A piped engine's set puts the inputs first, so `$engine | Invoke-TrtEngine @{ … }` binds them; with the engine
    // given, input sets (a hashtable, or an object of named values, each) can be piped: `$batches | Invoke-TrtEngine $engine`.
    private const string EngineSet = "Engine", PipedSet = "PipedEngine";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = EngineSet)]
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = PipedSet)]
    public Core.Engines.TrtEngine Engine { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ParameterSetName = EngineSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PipedSet)]
    [ArgumentCompleter(typeof(InputNameCompleter))]
    [NamedValuesTransformation]
    public Hashtable Input { get; set; } = null!;

    [Parameter]
    [ArgumentCompleter(typeof(InputNameCompleter))]
    public Hashtable? InputShape { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var (data, shapes) = InputConversion.ToEngineInputs(Input, InputShape, path => ResolveFile(path, literal: false, "TensorFileNotFound"));
            var outputs = Engine.Run(data, shapes);
            foreach (var output in outputs) WriteObject(output);
        }
        catch (Exception e) when (e is not PipelineStoppedException) // Select-Object -First stops the pipeline through here
        {
            WriteError(ErrorRecords.From(e, Engine));
        }
    }
}
