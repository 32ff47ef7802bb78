using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Native.Plan;

/// <summary>
/// Everything an engine is, except its weight bytes: tensors, fused layers with their tactics, engine weights
/// with their recipes, the model weights they come from, and the input profiles.
/// </summary>
public sealed class EnginePlan
{
    /// <summary>Bumped whenever the plan layout or a layer's meaning changes; older plans are refused.</summary>
    public const int FormatVersion = 6;

    public required string Name { get; init; }
    public required EngineTensor[] Tensors { get; init; }
    public required int[] Inputs { get; init; }
    public required ShapeProfile[] Profiles { get; init; }
    public required int[] Outputs { get; init; }
    public required Layer[] Layers { get; init; }
    public required EngineWeight[] Weights { get; init; }
    public required ModelWeightInfo[] ModelWeights { get; init; }
    public required HardwareInfo Hardware { get; init; }
    public required int OptimizationLevel { get; init; }

    /// <summary>Operations on weights alone that derive computed model weights, in order; re-run at every refit.</summary>
    public FoldedOp[] FoldedOps { get; init; } = [];

    private Dictionary<string, ModelWeightInfo>? _modelWeightsByName;

    /// <summary>The model weights by name, made once: every refit looks each supplied name up.</summary>
    public IReadOnlyDictionary<string, ModelWeightInfo> ModelWeightsByName => _modelWeightsByName ??= ModelWeights.ToDictionary(m => m.Name, StringComparer.Ordinal);

    public string InputName(int i) => Tensors[Inputs[i]].Name;
    public string OutputName(int i) => Tensors[Outputs[i]].Name;

    /// <summary>A copy with the inputs and outputs renamed (an engine from the cache serving an isomorphic model).</summary>
    public EnginePlan WithIONames(IReadOnlyList<string> inputNames, IReadOnlyList<string> outputNames)
    {
        var tensors = (EngineTensor[])Tensors.Clone();
        for (int i = 0; i < Inputs.Length; i++) tensors[Inputs[i]] = tensors[Inputs[i]] with { Name = inputNames[i] };
        for (int i = 0; i < Outputs.Length; i++) tensors[Outputs[i]] = tensors[Outputs[i]] with { Name = outputNames[i] };
        return new EnginePlan
        {
            Name = Name, Tensors = tensors, Inputs = Inputs, Profiles = Profiles, Outputs = Outputs, Layers = Layers,
            Weights = Weights, ModelWeights = ModelWeights, Hardware = Hardware, OptimizationLevel = OptimizationLevel, FoldedOps = FoldedOps,
        };
    }
}
