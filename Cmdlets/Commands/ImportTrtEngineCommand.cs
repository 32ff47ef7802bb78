using System.Diagnostics;
using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Loads an exported engine plan; with -WeightsPath a weight-stripped plan is refitted on the way in.</summary>
[Cmdlet(VerbsData.Import, "TrtEngine", DefaultParameterSetName = PathSet)]
[OutputType(typeof(Core.Engines.TrtEngine))]
public sealed class ImportTrtEngineCommand : FileInputCmdletBase
{
    /// <summary>An .onnx model, a .safetensors checkpoint or a torch checkpoint to refit the engine with after loading it.</summary>
    [Parameter]
    [SupportsWildcards]
    public string? WeightsPath { get; set; }

    /// <summary>Renames -WeightsPath's weights to the model's names, as Update-TrtEngineWeights -NameMap does ($null drops one).</summary>
    [Parameter]
    public object? NameMap { get; set; }

    /// <summary>
    /// Allow a -WeightsPath file that lacks some of the engine's weights: those keep the values the exported engine
    /// holds (an engine exported without weights needs them all). Without it such a file is refused, as by Update-TrtEngineWeights.
    /// </summary>
    [Parameter]
    public SwitchParameter Partial { get; set; }

    protected override string NotFoundId => "EngineNotFound";

    protected override void ProcessFile(string path)
    {
        string? weightsFile = null;
        try
        {
            Core.Engines.TrtEngine engine;
            try
            {
                engine = Core.Engines.TrtEngine.Import(File.ReadAllBytes(path));
            }
            catch (PlanFormatException e)
            {
                bool onnx = path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
                throw new PlanFormatException($"'{path}' cannot be imported: {e.Message}" +
                                              (onnx ? " It looks like an ONNX model: make an engine of it with New-TrtEngine." : " Import-TrtEngine reads the files Export-TrtEngine writes."));
            }
            try
            {
                if (NameMap is not null && WeightsPath is null)
                    throw new ArgumentException("-NameMap renames the weights of -WeightsPath: give -WeightsPath too.");
                if (WeightsPath is not null)
                {
                    long start = Stopwatch.GetTimestamp();
                    string file = weightsFile = ResolveFile(WeightsPath, literal: false, "WeightsNotFound");
                    var names = new WeightNameMap(NameMap);
                    using var weights = WeightFile.Read(file, engine, names.Target);
                    bool model = file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
                    var renamed = names.Rename(weights.Values, $"'{file}'");
                    WarnUnusedKeys(names, $"'{file}'");
                    var result = engine.Refit(renamed, Partial, modelPath: model && !weights.OtherGraph ? file : null);
                    if (weights.OtherGraph) WarnOtherGraph(file, engine);
                    // What the refit left out is told as Update-TrtEngineWeights -Verbose tells it (the check reads no values).
                    WriteVerbose($"Refitted {Counted.Of(result.EngineWeightsRecomputed, "engine weight")} from '{file}' in {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F1} ms{engine.CheckRefit(renamed, Partial, allowNonFinite: true).LeftOut()}.");
                }
            }
            catch
            {
                // Refused weights leave no engine behind for the finalizer.
                engine.Dispose();
                throw;
            }
            ModuleCleanup.Track(engine);
            WriteObject(engine);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            // A weights file that cannot be read is the file in error, as New-TrtEngine and Update-TrtEngineWeights say.
            WriteError(ErrorRecords.From(e, e is WeightFormatException or OnnxFormatException && weightsFile is not null ? weightsFile : path));
        }
    }
}
