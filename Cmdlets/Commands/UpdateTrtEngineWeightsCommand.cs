using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Verification;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Refit;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>
/// Refits an engine in place with new weights from an ONNX model, a safetensors checkpoint, a hashtable or another
/// engine: all or nothing, and with -Verify only if the refitted engine matches the reference execution of its model.
/// </summary>
[Cmdlet(VerbsData.Update, "TrtEngineWeights", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(Core.Engines.TrtEngine), typeof(RefitVerification))]
public sealed class UpdateTrtEngineWeightsCommand : TrtCmdletBase
{
    // A piped engine's set puts the path first, so `$engine | Update-TrtEngineWeights ./ckpt.safetensors` binds it.
    private const string PathSet = "Path", PipedPathSet = "PipedPath", LiteralPathSet = "LiteralPath", WeightsSet = "Weights", SourceEngineSet = "SourceEngine";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = PipedPathSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = LiteralPathSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = WeightsSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = SourceEngineSet)]
    public Core.Engines.TrtEngine Engine { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PipedPathSet)]
    [SupportsWildcards]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP", "FullName")]
    public string LiteralPath { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = WeightsSet)]
    [NamedValuesTransformation]
    public Hashtable Weights { get; set; } = null!;

    /// <summary>Another engine of the same model whose model weights (those it was built or last refitted with) refit this one.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SourceEngineSet)]
    public Core.Engines.TrtEngine SourceEngine { get; set; } = null!;

    /// <summary>
    /// Renames the source's weights to the model's names: a hashtable (source name → model name) or a script block
    /// that receives a source name as $_ and returns the model name ($null drops the weight).
    /// </summary>
    [Parameter]
    public object? NameMap { get; set; }

    /// <summary>Allow a source that lacks some of the engine's weights; those keep their current values.</summary>
    [Parameter]
    public SwitchParameter Partial { get; set; }

    [Parameter]
    public SwitchParameter AllowNonFinite { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Run the refitted engine aside and compare it with the reference execution before applying the new weights.</summary>
    [Parameter]
    public SwitchParameter Verify { get; set; }

    /// <summary>Inputs for -Verify, by name as for Invoke-TrtEngine -Input (arrays, tensors or .npy files); implies -Verify. Without it, seeded random inputs at the opt shapes.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(InputNameCompleter))]
    [NamedValuesTransformation]
    public Hashtable? VerifyInput { get; set; }

    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double Tolerance { get; set; } = RefitVerificationOptions.DefaultTolerance;

    protected override void ProcessRecord()
    {
        string source = ParameterSetName switch
        {
            PathSet or PipedPathSet => Path, LiteralPathSet => LiteralPath, SourceEngineSet => $"engine '{SourceEngine.Name}'", _ => "the -Weights hashtable",
        };
        try
        {
            string? file = ParameterSetName is PathSet or PipedPathSet or LiteralPathSet ? ResolveFile(source, ParameterSetName == LiteralPathSet, "WeightsNotFound") : null;
            // Messages name the file as the file system does (a path piped from Get-ChildItem carries its provider's name).
            source = file ?? source;
            // The verification's inputs are read before anything else, and checked against the engine before -WhatIf
            // reports, so it never reports a refit they would refuse.
            if (VerifyInput is { Count: 0 })
                throw new ArgumentException("-VerifyInput is empty: give a value for each of the engine's inputs (Tab after -VerifyInput completes them), or use -Verify alone to verify on generated inputs.");
            var given = VerifyInput is null ? default : InputConversion.ToEngineInputs(VerifyInput, null, TensorFile);
            // A file is read into recycled buffers while the engine's recipes run on them; what the engine does not
            // adopt goes back when this call ends.
            var names = new WeightNameMap(NameMap);
            using var read = file is null ? null : WeightFile.Read(file, Engine, names.Target);
            string named = file is null ? source : $"'{file}'";
            IReadOnlyDictionary<string, WeightValue> weights = ParameterSetName switch
            {
                WeightsSet => WeightSources.FromArrays(names.Rename(InputConversion.ToShapedArrays(Weights, nameof(Weights), TensorFile), named), Engine),
                SourceEngineSet => names.Rename(WeightSources.FromEngine(SourceEngine), named),
                _ => names.Rename(read!.Values, named),
            };
            WarnUnusedKeys(names, named);
            // Names and shapes first; values too only for -WhatIf, as a refit finds NaN and infinity itself (mostly
            // through the sums its packing takes) rather than in a pass over every value, and refuses them the same way.
            RefitCheck check = Engine.CheckRefit(weights, Partial, AllowNonFinite || !WhatIf);
            if (!check.IsValid) throw new RefitException(Engine.Name, check);
            if (read is { OtherGraph: true }) WarnOtherGraph(file!, Engine);
            // The same for another engine: its plan records the graph it was built from as this engine's does.
            if (ParameterSetName == SourceEngineSet && WeightSources.OtherGraph(SourceEngine, Engine))
                WriteWarning($"Engine '{SourceEngine.Name}' was not built from the graph engine '{Engine.Name}' was built from (its layers, their parameters or its input dimensions differ), though its weights fit: " +
                             $"engine '{Engine.Name}' keeps computing its own graph with these weights, not the source engine's. Refit it from the source's own model file to be warned the same way, or use the source engine itself.");
            WriteVerbose($"Refit of '{Engine.Name}' from {source}: {Counted.Of(check.Changed.Count, "weight")} supplied{check.LeftOut()}.");
            // An .onnx source is the model with the new weights; otherwise the engine's own model gives the structure.
            string? model = file is not null && file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? file : null;
            // -Tolerance implies -Verify unless -Verify:$false says otherwise.
            bool verifyAsked = Verify || VerifyInput is not null ||
                (MyInvocation.BoundParameters.ContainsKey(nameof(Tolerance)) && !MyInvocation.BoundParameters.ContainsKey(nameof(Verify)));
            var verify = verifyAsked ? new RefitVerificationOptions
            {
                Inputs = given.Data,
                InputShapes = given.Shapes,
                Tolerance = Tolerance,
                ModelPath = model,
                Cancel = Cancellation,
            } : null;
            // What verifying needs (a model, inputs the engine takes) is checked before -WhatIf reports the refit.
            if (verify is not null) Engine.CheckVerification(weights, verify);
            if (!ShouldProcess(Engine.Name, Describe(check, weights, source))) return;
            long start = Stopwatch.GetTimestamp();
            var result = Engine.Refit(weights, Partial, AllowNonFinite, verify, read is { OtherGraph: false } ? model : null);
            WriteVerbose($"Recomputed {Counted.Of(result.EngineWeightsRecomputed, "engine weight")} ({result.ChangedModelWeights.Count} of {Counted.Of(result.ModelWeights, "model weight")} given changed) in {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F1} ms.");
            if (result.Verification is { } verification) WriteObject(verification);
            if (PassThru) WriteObject(Engine);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C during -Verify: the refit was abandoned before it swapped anything in.
            throw new PipelineStoppedException();
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            // A file that cannot be read is the item at fault (in `Get-ChildItem *.safetensors | Update-TrtEngineWeights`
            // the item piped); a refit refused for what it holds is the engine's.
            bool fileAtFault = ParameterSetName is PathSet or PipedPathSet or LiteralPathSet &&
                               e is WeightFormatException or OnnxFormatException or ModelImportException or IOException or UnauthorizedAccessException;
            WriteError(ErrorRecords.From(e, fileAtFault ? source : e is SourceEngineException ? SourceEngine : Engine));
        }
    }

    private string TensorFile(string path) => ResolveFile(path, literal: false, "TensorFileNotFound");

    /// <summary>-WhatIf, given or by $WhatIfPreference: the call only reports.</summary>
    private bool WhatIf => MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? given)
        ? ((SwitchParameter)given).IsPresent
        : LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"));

    /// <summary>What the refit would do; with -WhatIf the recipes run aside to tell changing weights from unchanged ones.</summary>
    private string Describe(RefitCheck check, IReadOnlyDictionary<string, WeightValue> weights, string source)
    {
        if (!WhatIf || !Engine.HasWeights)
            return $"Refit {Counted.Of(check.Changed.Count, "weight")} from {source}{check.LeftOut()}";
        // Of the weights given (folded constants, given as the engine holds them, are not counted: see RefitCheck.Changed).
        var unchanged = Engine.UnchangedWeights(weights).ToHashSet(StringComparer.Ordinal);
        var changing = check.Changed.Where(n => !unchanged.Contains(n)).ToList();
        int same = check.Changed.Count - changing.Count;
        return $"Refit from {source}: {Counted.Of(changing.Count, "weight")} change{(changing.Count == 1 ? "s" : "")}{(changing.Count > 0 ? $" ({RefitCheck.Names(changing)})" : "")}, " +
            $"{same} {(same == 1 ? "stays" : "stay")} the same{(check.Kept.Count > 0 ? $", {check.Kept.Count} not supplied {(check.Kept.Count == 1 ? "keeps its value" : "keep their values")}" : "")}{check.LeftOut()}";
    }
}
