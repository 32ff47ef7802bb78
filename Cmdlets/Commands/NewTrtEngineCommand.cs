using System.Collections;
using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Engines;
using TrtEngine.Core.Weights;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Converts an ONNX model into an engine, or pulls its weight-stripped engine from the cache and refits it.</summary>
[Cmdlet(VerbsCommon.New, "TrtEngine", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(Core.Engines.TrtEngine))]
public sealed class NewTrtEngineCommand : FileInputCmdletBase
{
    [Parameter]
    [SupportsWildcards]
    public string? WeightsPath { get; set; }

    /// <summary>Renames -WeightsPath's weights to the model's names, as Update-TrtEngineWeights -NameMap does ($null drops one).</summary>
    [Parameter]
    public object? NameMap { get; set; }

    /// <summary>Accepts NaN and infinite values in -WeightsPath's tensors, as Update-TrtEngineWeights -AllowNonFinite does.</summary>
    [Parameter]
    public SwitchParameter AllowNonFinite { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(InputNameCompleter))]
    public Hashtable? InputShape { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(InputNameCompleter))]
    public Hashtable? MinShape { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(InputNameCompleter))]
    public Hashtable? OptShape { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(InputNameCompleter))]
    public Hashtable? MaxShape { get; set; }

    [Parameter]
    [ValidateSet("0", "1", "2", "3", "4", "5")] // a set, so Tab offers the levels (a range completed file names)
    public int OptimizationLevel { get; set; } = 3;

    [Parameter]
    [ValidateNotNullOrEmpty] // an unset variable's empty string would resolve to the current folder
    public string? CacheDirectory { get; set; }

    /// <summary>Bytes the cache may take on disk for this call; by default the configured limit (Set-TrtCacheOption, else 5 GiB).</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long? CacheSizeLimit { get; set; }

    [Parameter]
    public SwitchParameter NoCache { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter StripWeights { get; set; }

    protected override string NotFoundId => "ModelNotFound";

    /// <summary>Says which switches the others make meaningless, rather than pass over them (found by a QA helper).</summary>
    private void WarnIgnored()
    {
        string[] unused = NoCache
            ? [.. new (string Name, bool Given)[] { ("-CacheDirectory", CacheDirectory is not null), ("-CacheSizeLimit", CacheSizeLimit is not null), ("-Force", Force.IsPresent) }
                .Where(p => p.Given).Select(p => p.Name)]
            : [];
        if (unused.Length > 0)
            WriteWarning($"-NoCache neither reads nor writes the cache, so {string.Join(" and ", unused)} {(unused.Length == 1 ? "changes" : "change")} nothing.");
        if (StripWeights && WeightsPath is not null)
            WriteWarning("-StripWeights returns the engine without weights, so those of -WeightsPath are checked against the model and then left out: refit the engine to give it weights.");
    }

    protected override void ProcessFile(string model)
    {
        var events = new CmdletEvents(this, 1, $"Building engine for {System.IO.Path.GetFileName(model)}");
        string? weights = null;
        var names = NameMap is null ? null : new WeightNameMap(NameMap);
        try
        {
            if (NameMap is not null && WeightsPath is null)
                throw new ArgumentException("-NameMap renames the weights of -WeightsPath: give -WeightsPath too.");
            WarnIgnored();
            weights = WeightsPath is null ? null : ResolveFile(WeightsPath, literal: false, "WeightsNotFound");
            var settings = new ConversionSettings
            {
                WeightsPath = weights,
                WeightNames = names is null ? null : names.Target,
                AllowNonFinite = AllowNonFinite,
                InputShapes = InputConversion.ToShapes(InputShape, nameof(InputShape)),
                MinShapes = InputConversion.ToShapes(MinShape, nameof(MinShape)),
                OptShapes = InputConversion.ToShapes(OptShape, nameof(OptShape)),
                MaxShapes = InputConversion.ToShapes(MaxShape, nameof(MaxShape)),
                OptimizationLevel = OptimizationLevel,
                UseCache = !NoCache,
                Force = Force,
                StripWeights = StripWeights,
                // Null: the configured directory, which the converter reads only when it uses the cache (not with -NoCache).
                CacheDirectory = CacheDirectory is null ? null : ResolveOutputPath(CacheDirectory),
                CacheSizeLimit = CacheSizeLimit,
            };
            // Asked once the key is known, so -WhatIf says whether it would load an entry or build one, and where.
            var engine = EngineConverter.TryConvert(model, settings, action => ShouldProcess(model, action), events, Cancellation);
            if (names is not null) WarnUnusedKeys(names, $"'{weights}'");
            if (engine is null) return;
            ModuleCleanup.Track(engine);
            WriteObject(engine);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            // A weights file that cannot be read, or does not fit the model, is the file in error (as a missing one is);
            // a misspelt -NameMap entry may be why it does not fit.
            if (names is not null) WarnUnusedKeys(names, $"'{weights}'");
            WriteError(ErrorRecords.From(e, e is WeightFormatException && weights is not null ? weights : model));
        }
        finally
        {
            events.Complete();
        }
    }
}
