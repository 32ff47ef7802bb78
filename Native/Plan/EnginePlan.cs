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
    public const int FormatVersion = 19;

    public required string Name { get; init; }
    public required EngineTensor[] Tensors { get; init; }
    public required int[] Inputs { get; init; }
    /// <summary>Each input's element type, by position (integers and bools run as exact floats).</summary>
    public required ElementType[] InputTypes { get; init; }
    public required ShapeProfile[] Profiles { get; init; }
    public required int[] Outputs { get; init; }
    /// <summary>Each output's element type, by position (integers and bools as exact floats).</summary>
    public required ElementType[] OutputTypes { get; init; }
    public required Layer[] Layers { get; init; }
    public required EngineWeight[] Weights { get; init; }
    public required ModelWeightInfo[] ModelWeights { get; init; }
    public required HardwareInfo Hardware { get; init; }
    public required int OptimizationLevel { get; init; }

    /// <summary>Operations on weights alone that derive computed model weights, in order; re-run at every refit.</summary>
    public FoldedOp[] FoldedOps { get; init; } = [];

    /// <summary>The model's graph (<see cref="NetworkStructure.Digest"/>) the engine was built from; empty when not known.</summary>
    public string StructureDigest { get; init; } = "";

    /// <summary>
    /// Whether GEMMs of many rows and moderate work (<see cref="Kernels.GemmJob"/>) are shared with the pool's workers
    /// when they are awake. Whether that pays differs from machine to machine (and from time to time on a VM), so the
    /// builder times the engine both ways (<see cref="Builder.ModerateGemmSharing"/>); level 0 keeps sharing.
    /// </summary>
    public bool ModerateGemmsShared { get; init; } = true;

    private Dictionary<string, int>? _modelWeightIndex;
    private int[][]? _recipeSources;
    private int[][]? _recipeUsers;
    private int[]? _soleReaders;
    private int _parameterCount = -1;

    /// <summary>
    /// Every tensor's shape, written into <paramref name="shapes"/>, for the given shapes of the inputs; throws a
    /// <see cref="ShapeException"/> where a layer cannot take what reaches it.
    /// </summary>
    internal void InferShapes(int[][] shapes, int[][] inputShapes)
    {
        for (int i = 0; i < Inputs.Length; i++) shapes[Inputs[i]] = inputShapes[i];
        var operands = new List<int[]>();
        foreach (var layer in Layers)
        {
            operands.Clear();
            foreach (var v in layer.Inputs) operands.Add(v.IsNone ? [] : v.IsWeight ? Weights[v.Index].Shape : shapes[v.Index]);
            shapes[layer.Output] = layer.InferShape(operands);
        }
    }

    /// <summary>Each model weight's index in <see cref="ModelWeights"/> by name, made once: every refit looks each supplied name up.</summary>
    public IReadOnlyDictionary<string, int> ModelWeightIndex =>
        _modelWeightIndex ??= ModelWeights.Select((m, i) => (m.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);

    /// <summary>The model weights each engine weight's recipe reads, as indices into <see cref="ModelWeights"/> (a valid plan names only those).</summary>
    internal int[][] RecipeSources => _recipeSources ??= Array.ConvertAll(Weights, w => Array.ConvertAll(w.Recipe.Sources, s => ModelWeightIndex[s]));

    /// <summary>The engine weights whose recipes read each model weight, by model weight index (the inverse of <see cref="RecipeSources"/>).</summary>
    internal int[][] RecipeUsers
    {
        get
        {
            if (_recipeUsers is { } users) return users;
            var lists = Array.ConvertAll(ModelWeights, _ => new List<int>());
            for (int i = 0; i < Weights.Length; i++)
                foreach (int m in RecipeSources[i]) lists[m].Add(i);
            return _recipeUsers = Array.ConvertAll(lists, l => l.ToArray());
        }
    }

    /// <summary>
    /// By model weight index, the engine weight whose recipe alone reads it, as its first source in contiguous ranges
    /// per part (<see cref="WeightRecipe.SourceRange"/>); -1 for the others. A refit copies a caller's array for such
    /// a weight in the recipes' pass: part by part as a packing recipe reads it (one pass over it, not two), or as the
    /// identity recipe's own evaluation (on the recipes' threads, beside the others).
    /// </summary>
    internal int[] SoleReaders => _soleReaders ??= FindSoleReaders();

    // Its own method: the getter's lambda captures were allocated at every read (a refit reads it per weight).
    private int[] FindSoleReaders()
    {
        var folded = FoldedOps.SelectMany(o => o.Inputs).ToHashSet(StringComparer.Ordinal);
        return Array.ConvertAll(Enumerable.Range(0, ModelWeights.Length).ToArray(), m =>
            RecipeUsers[m] is [int i] && RecipeSources[i] is [var first, ..] sources && first == m && Array.LastIndexOf(sources, m) == 0 &&
            Weights[i].Recipe.SourceRange(0, 1, ModelWeights[m].ElementCount) is not null &&
            !folded.Contains(ModelWeights[m].Name)
                ? i
                : -1);
    }

    /// <summary>How many model weights are parameters: what a refit that is not partial must supply.</summary>
    internal int ParameterCount => _parameterCount >= 0 ? _parameterCount : _parameterCount = ModelWeights.Count(m => m.Kind == WeightKind.Parameter);

    public string InputName(int i) => Tensors[Inputs[i]].Name;
    public string OutputName(int i) => Tensors[Outputs[i]].Name;

    /// <summary>A copy named after another model, its inputs and outputs renamed (an engine from the cache serving an isomorphic model).</summary>
    public EnginePlan WithNames(string name, IReadOnlyList<string> inputNames, IReadOnlyList<string> outputNames)
    {
        var tensors = (EngineTensor[])Tensors.Clone();
        for (int i = 0; i < Inputs.Length; i++) tensors[Inputs[i]] = tensors[Inputs[i]] with { Name = inputNames[i] };
        for (int i = 0; i < Outputs.Length; i++) tensors[Outputs[i]] = tensors[Outputs[i]] with { Name = outputNames[i] };
        return new EnginePlan
        {
            Name = name, Tensors = tensors, Inputs = Inputs, InputTypes = InputTypes, Profiles = Profiles, Outputs = Outputs, OutputTypes = OutputTypes, Layers = Layers,
            Weights = Weights, ModelWeights = ModelWeights, Hardware = Hardware, OptimizationLevel = OptimizationLevel, FoldedOps = FoldedOps,
            StructureDigest = StructureDigest, ModerateGemmsShared = ModerateGemmsShared,
        };
    }
}
