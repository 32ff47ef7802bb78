using TrtEngine.Native.Layers;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Network;

/// <summary>
/// A model as the builder receives it: inputs, named model weights, layers in execution order, outputs.
/// Tensor dims are inferred as layers are added (-1 where only the run time knows).
/// </summary>
public sealed class NetworkDefinition(string name)
{
    private readonly List<EngineTensor> _tensors = [];
    private readonly List<ModelWeights> _weights = [];
    private readonly Dictionary<string, int> _weightIndex = new(StringComparer.Ordinal);
    private readonly List<Layer> _layers = [];
    private readonly List<int> _inputs = [];
    private readonly List<ElementType> _inputTypes = [];
    private readonly List<int> _outputs = [];
    private readonly List<ElementType> _outputTypes = [];
    private readonly HashSet<string> _folded = new(StringComparer.Ordinal);
    private readonly List<FoldedOp> _foldedOps = [];

    public string Name { get; } = name;
    public IReadOnlyList<EngineTensor> Tensors => _tensors;
    public IReadOnlyList<ModelWeights> Weights => _weights;
    public IReadOnlyList<Layer> Layers => _layers;
    public IReadOnlyList<int> Inputs => _inputs;

    /// <summary>Each input's element type, by position.</summary>
    public IReadOnlyList<ElementType> InputTypes => _inputTypes;
    public IReadOnlyList<int> Outputs => _outputs;

    /// <summary>Each output's element type, by position.</summary>
    public IReadOnlyList<ElementType> OutputTypes => _outputTypes;

    /// <summary>
    /// Constant model weights whose values the importer baked into layer parameters (Clip bounds, Resize scales):
    /// the engine lists them so a refit may bring them, unchanged.
    /// </summary>
    public IReadOnlySet<string> FoldedWeights => _folded;

    /// <summary>Operations on weights alone, in model order; each output is a <see cref="WeightKind.Computed"/> weight.</summary>
    public IReadOnlyList<FoldedOp> FoldedOps => _foldedOps;

    /// <summary>
    /// The weights an engine built from this network keeps: those its layers that reach an output read (the builder
    /// drops the others), those the folded operations behind them read, and the constants baked into layer parameters.
    /// The rest (constants only shape arithmetic read, such as an interpolation's scale factor, and the weights of
    /// branches no output reads) are no part of an engine.
    /// </summary>
    public IReadOnlySet<string> KeptWeights()
    {
        var kept = new HashSet<string>(_folded, StringComparer.Ordinal);
        var needed = new HashSet<int>(_outputs);
        for (int l = _layers.Count - 1; l >= 0; l--)
        {
            if (!needed.Contains(_layers[l].Output)) continue;
            foreach (var input in _layers[l].Inputs)
                if (input.IsNone) continue;
                else if (input.IsWeight) kept.Add(_weights[input.Index].Name);
                else needed.Add(input.Index);
        }
        for (int i = _foldedOps.Count - 1; i >= 0; i--)
            if (kept.Contains(_foldedOps[i].Output)) kept.UnionWith(_foldedOps[i].Inputs);
        return kept;
    }

    public void MarkFolded(string weightName)
    {
        if (!_weightIndex.TryGetValue(weightName, out int index) || _weights[index].Kind != WeightKind.Constant)
            throw new ArgumentException($"'{weightName}' is not a constant weight of network '{Name}'.");
        _folded.Add(weightName);
    }

    /// <summary>
    /// Makes a model parameter a folded constant of the graph (a refit may give it only with the same value): for an
    /// exporter that writes the graph's constants as initializers, which an operation evaluated at import needs fixed.
    /// </summary>
    public void FoldParameter(string weightName)
    {
        int index = _weightIndex.TryGetValue(weightName, out int i) && _weights[i].Kind == WeightKind.Parameter ? i
            : throw new ArgumentException($"'{weightName}' is not a parameter of network '{Name}'.");
        var parameter = _weights[index];
        _weights[index] = new ModelWeights(parameter.Name, parameter.Shape, parameter.Values, WeightKind.Constant);
        _folded.Add(weightName);
    }

    /// <summary>The model weight of this name, or null.</summary>
    public ModelWeights? FindWeights(string weightName) => _weightIndex.TryGetValue(weightName, out int i) ? _weights[i] : null;

    public ValueRef AddInput(string tensorName, int[] dims, ElementType type = ElementType.Float32)
    {
        var t = AddTensor(tensorName, dims);
        _inputs.Add(t.Index);
        _inputTypes.Add(type);
        return t;
    }

    /// <summary>Adds a model weight; a name added twice is one weight shared by its users.</summary>
    public ValueRef AddWeights(ModelWeights weights)
    {
        if (_weightIndex.TryGetValue(weights.Name, out int existing))
        {
            if (!ReferenceEquals(_weights[existing], weights) && !_weights[existing].Shape.AsSpan().SequenceEqual(weights.Shape))
                throw new ArgumentException($"Weight '{weights.Name}' is added twice with different shapes.");
            return ValueRef.Weight(existing);
        }
        _weightIndex.Add(weights.Name, _weights.Count);
        _weights.Add(weights);
        return ValueRef.Weight(_weights.Count - 1);
    }

    /// <summary>
    /// Adds the weight a folded operation computes from weights already added, evaluated (into an array from
    /// <paramref name="allocate"/>) when its values are first read. Reading ViT-Ti/16's ONNX file for a refit or a
    /// cache hit had computed 19 MB of sliced and transposed weights that were thrown away (reads 11% and hits 12%
    /// faster without them: means of 50, 26.4 → 23.5 and 45.9 → 40.4 ms).
    /// </summary>
    public ValueRef AddComputedWeights(FoldedOp op, Func<int, float[]>? allocate = null)
    {
        var inputs = new ModelWeights[op.Inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = _weightIndex.TryGetValue(op.Inputs[i], out int index) ? _weights[index]
                : throw new ArgumentException($"Folded '{op.Output}' reads '{op.Inputs[i]}', which is not a weight of network '{Name}'.");
        op.Validate();
        if (_weightIndex.ContainsKey(op.Output)) throw new ArgumentException($"Weight '{op.Output}' is defined twice.");
        var value = AddWeights(new ModelWeights(op.Output, op.OutputShape, () => op.Evaluate(Array.ConvertAll(inputs, w => w.Values), allocate)));
        _foldedOps.Add(op);
        return value;
    }

    /// <summary>Appends a layer whose inputs are already defined, names its output, and infers the output dims.</summary>
    public ValueRef AddLayer(Layer layer, string outputName)
    {
        var inputDims = new List<int[]>();
        foreach (var v in layer.Inputs)
        {
            if (v.IsNone) inputDims.Add([]);
            else if (v.IsWeight && v.Index < _weights.Count) inputDims.Add(_weights[v.Index].Shape);
            else if (!v.IsWeight && v.Index < _tensors.Count) inputDims.Add(_tensors[v.Index].Dims);
            else throw new ArgumentException($"Layer '{layer.Name}' reads {v}, which is not defined yet.");
        }
        var output = AddTensor(outputName, layer.InferShape(inputDims));
        layer.Output = output.Index;
        layer.Origins = [layer.Name];
        _layers.Add(layer);
        return output;
    }

    public void MarkOutput(ValueRef tensor, ElementType type = ElementType.Float32)
    {
        if (tensor.IsWeight || tensor.IsNone) throw new ArgumentException("Only a computed tensor can be a network output.");
        _outputs.Add(tensor.Index);
        _outputTypes.Add(type);
    }

    public int[] Dims(ValueRef v) => v.IsWeight ? _weights[v.Index].Shape : _tensors[v.Index].Dims;

    private ValueRef AddTensor(string tensorName, int[] dims)
    {
        _tensors.Add(new EngineTensor(tensorName, dims));
        return ValueRef.Tensor(_tensors.Count - 1);
    }
}
