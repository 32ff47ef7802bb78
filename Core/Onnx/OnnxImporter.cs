using TrtEngine.Core.Weights;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Converts an ONNX graph into a network. Float initializers, Constant nodes and graph inputs bound from a weights
/// file become named model weights (refittable); integer tensors are structure (shapes, axes) and are read here.
/// </summary>
public sealed partial class OnnxImporter
{
    private static readonly HashSet<string> Supported =
    [
        "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Sigmoid", "Tanh", "Erf", "Softmax", "LayerNormalization", "Flatten", "Reshape", "Identity", "Dropout", "Constant",
        "Conv", "ConvTranspose", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
        "Clip", "HardSigmoid", "HardSwish", "LeakyRelu", "Exp", "Neg", "Abs", "Reciprocal", "Log", "Elu", "Selu", "Softplus", "Softsign", "Mish", "Gelu", "Sign", "Pow", "Max", "Min", "Sum", "Mean", "LogSoftmax", "Concat", "Split", "Slice", "Transpose", "Squeeze", "Unsqueeze", "Pad",
        "Resize", "Upsample", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceL2", "ReduceSumSquare",
        "PRelu", "InstanceNormalization", "DepthToSpace", "SpaceToDepth", "Tile",
        "Shape", "Gather", "Cast", "Equal", "Where", "ConstantOfShape", "Floor", "Ceil", "Round", "Sqrt", "Mod", "Expand", "ReduceProd", "Trilu", "Less", "Greater",
        "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf", "Range", "ArgMax", "ArgMin", "CumSum", "Einsum", "Sin", "Cos", "ReduceLogSumExp", "OneHot", "GatherElements", "GatherND", "CastLike", "SplitToSequence", "SequenceAt", "TopK", "LSTM", "GRU",
    ];

    /// <summary>Operators evaluated at import when their operands are integer tensors known at import.</summary>
    private static readonly HashSet<string> Foldable =
    [
        "Identity", "Reshape", "Gather", "Cast", "Concat", "Unsqueeze", "Squeeze", "Slice", "Mul", "Add", "Div", "Sub", "Equal", "Where", "Mod", "ReduceProd",
        "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "Range",
    ];

    private readonly OnnxModel _model;
    private readonly NetworkDefinition _network;
    private readonly Dictionary<string, ValueRef> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OnnxTensor> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IntegerTensor> _integers = new(StringComparer.Ordinal);

    /// <summary>Sequences of tensors (SplitToSequence's), by name: the tensors they hold.</summary>
    private readonly Dictionary<string, string[]> _sequences = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, WeightTensor> _bound;
    private readonly Func<int, float[]> _allocateParameter;
    private readonly Func<int, string, int[], int[]?>? _fixedShape;

    private OnnxImporter(OnnxModel model, string name, IReadOnlyDictionary<string, WeightTensor> bound, Func<int, float[]> allocateParameter,
        Func<int, string, int[], int[]?>? fixedShape)
    {
        _model = model;
        _network = new NetworkDefinition(name);
        _bound = bound;
        _allocateParameter = allocateParameter;
        _fixedShape = fixedShape;
    }

    /// <param name="boundWeights">Values for graph inputs that are weights (a model exported without parameters), or new values for initializers.</param>
    /// <param name="fixedShape">
    /// The one shape the engine will run an input at (given its position among the run-time inputs, its name and the
    /// model's dims, -1 where dynamic), or null:
    /// it fills the dims the model leaves dynamic, so shape arithmetic that reads them folds at import.
    /// </param>
    public static NetworkDefinition Import(OnnxModel model, string name, IReadOnlyDictionary<string, WeightTensor>? boundWeights = null,
        Func<int, string, int[], int[]?>? fixedShape = null) =>
        Import(model, name, boundWeights, n => GC.AllocateUninitializedArray<float>(n), fixedShape);

    /// <param name="allocateParameter">
    /// Makes the array for an initializer's values (the model's trained weights, the bulk of its bytes): the
    /// conversion path rents them from the engine weight pool, as the engine it makes keeps them. An initializer
    /// decoded ahead (<see cref="OnnxTensor.DecodeAhead"/>) keeps the array it was decoded into.
    /// </param>
    internal static NetworkDefinition Import(OnnxModel model, string name, IReadOnlyDictionary<string, WeightTensor>? boundWeights, Func<int, float[]> allocateParameter,
        Func<int, string, int[], int[]?>? fixedShape = null)
    {
        var importer = new OnnxImporter(model, name, boundWeights ?? new Dictionary<string, WeightTensor>(), allocateParameter, fixedShape);
        try
        {
            importer.Run();
        }
        finally
        {
            ReleaseNodes(importer._producers);
        }
        return importer._network;
    }

    /// <summary>An input's dims as the network holds them: symbolic or out-of-range ones <see cref="Shapes.Dynamic"/>.</summary>
    internal static int[] Dims(IReadOnlyList<OnnxDim> shape) =>
        shape.Select(d => d.Value is long v && v >= 0 && v <= int.MaxValue ? (int)v : Shapes.Dynamic).ToArray();

    /// <summary>The graph inputs that are run-time inputs, not weights: neither initializers nor bound by a weights file.</summary>
    public static IEnumerable<OnnxValueInfo> RuntimeInputs(OnnxGraph graph, IReadOnlyDictionary<string, WeightTensor>? boundWeights)
    {
        var initializers = graph.Initializers.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Inputs.Where(i => !initializers.Contains(i.Name) && boundWeights?.ContainsKey(i.Name) != true);
    }

    private void Run()
    {
        var graph = _model.Graph;
        CheckOperators(graph);
        CheckSingleAssignment(graph);
        var nodes = TopologicalOrder(graph);
        // Without it every operator would be read as its first version (attributes and inputs differ across versions).
        if (Opset < 1 && graph.Nodes.Count > 0)
            throw new ModelImportException($"The model imports no version of the default ONNX domain (opset_import: {string.Join(", ", _model.OpsetImports.Select(o => $"'{o.Domain}' {o.Version}"))}); export it with an opset (TrtEngine reads 9–{OnnxSchemas.MaxOpset}).");
        // A newer opset may give an operator a version whose attributes, inputs or semantics the importer does not know.
        if (Opset > OnnxSchemas.MaxOpset && graph.Nodes.Count > 0)
            throw new ModelImportException($"The model imports opset {Opset} of the default ONNX domain; TrtEngine knows the operators' versions up to opset {OnnxSchemas.MaxOpset} (ONNX Runtime refuses such a model too). Export it at opset {OnnxSchemas.MaxOpset} or lower.");
        // Each node as its operator's version at this opset defines it: an attribute or input of another version is
        // refused, not ignored or read.
        foreach (var node in graph.Nodes) OnnxSchemas.Check(node, Opset, NodeName(node));
        foreach (var t in graph.Initializers) _initializers[t.Name] = t;
        int position = 0;
        foreach (var input in RuntimeInputs(graph, _bound))
        {
            var type = RunTimeInputType(input);
            if (input.Shape is null)
                throw new ModelImportException($"Input '{input.Name}' has no shape in the model; export it with a shape (dynamic dims may stay symbolic).");
            int[] dims = Dims(input.Shape);
            // A fixed shape of the right rank fills the dynamic dims; a mismatch is left for the profile check to report.
            if (dims.Contains(Shapes.Dynamic) && _fixedShape?.Invoke(position, input.Name, dims) is { } fixedShape && fixedShape.Length == dims.Length)
                dims = dims.Select((d, i) => d == Shapes.Dynamic && fixedShape[i] >= 1 ? fixedShape[i] : d).ToArray();
            _values[input.Name] = _network.AddInput(input.Name, dims, type);
            for (int axis = 0; axis < dims.Length; axis++)
                if (dims[axis] == Shapes.Dynamic && input.Shape[axis].Param is { Length: > 0 } symbol)
                    (_namedDims.TryGetValue(symbol, out var group) ? group : _namedDims[symbol] = []).Add((position, axis));
            if (type is ElementType.Int64 or ElementType.Int32) _runTimeIntegers.Add(input.Name);
            if (type == ElementType.Bool) _runTimeBooleans.Add(input.Name);
            position++;
        }
        foreach (var node in nodes)
        {
            try
            {
                var imported = node.OpType == "CastLike" ? AsCast(node) : node;
                ImportNode(imported);
                TrackRunTimeTypes(imported);
            }
            // What a malformed node makes the import trip on (an input it lacks, a value out of range): said as the
            // node's fault, as the checks written for such nodes say it.
            catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or NotSupportedException or OverflowException or DivideByZeroException or InvalidCastException)
            {
                throw new ModelImportException($"{node.OpType} '{NodeName(node)}' is malformed: {e.Message}", e);
            }
        }
        foreach (var output in graph.Outputs)
        {
            var value = Float(output.Name, $"graph output '{output.Name}'");
            // An engine output is named as its tensor: one that is a weight, or a tensor under another name (an
            // Identity's input, or the last step of a node imported as several layers), is copied under the output's.
            if (value.IsWeight || _network.Tensors[value.Index].Name != output.Name)
                value = _network.AddLayer(new ReshapeLayer(output.Name, ReshapeMode.Identity, value), output.Name);
            _network.MarkOutput(value, OutputType(output));
        }
    }

    /// <summary>
    /// Every value has one source (ONNX's static single assignment): a node writing a graph input, an initializer or
    /// another node's output would silently replace it, the last writer winning; an input declared twice would be two
    /// network inputs of one name.
    /// </summary>
    private static void CheckSingleAssignment(OnnxGraph graph)
    {
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
            if (!written.Add(input.Name))
                throw new ModelImportException($"The graph input '{input.Name}' is declared twice; each input must have a name of its own (ONNX Runtime refuses such a model too). Remove the second declaration or rename it.");
        // Older exporters list initializers among the inputs too.
        written.UnionWith(graph.Initializers.Select(t => t.Name));
        foreach (var node in graph.Nodes)
            foreach (string output in node.Outputs.Where(o => o.Length > 0))
                if (!written.Add(output))
                    throw new ModelImportException($"{node.OpType} '{NodeName(node)}' writes '{output}', which is a graph input, an initializer or another node's output; each value must have one source.");
    }

    /// <summary>
    /// The nodes in an order where each comes after the producers of its inputs: the file's order where it is one
    /// already. ONNX asks for a sorted graph, but ONNX Runtime sorts one listed otherwise (a graph edited by a tool).
    /// A cycle is refused here, before the import follows any value back through its producers.
    /// </summary>
    internal static IReadOnlyList<OnnxNode> TopologicalOrder(OnnxGraph graph)
    {
        var nodes = graph.Nodes;
        var producer = new Dictionary<string, int>(nodes.Count, StringComparer.Ordinal);
        for (int i = 0; i < nodes.Count; i++)
            foreach (string output in nodes[i].Outputs)
                if (output.Length > 0) producer[output] = i;
        // Exporters write graphs sorted: checked first, it saves building the order (ViT-Ti/16's 1 ms a read).
        if (Sorted(nodes, producer))
        {
            ReleaseNodes(producer);
            return nodes;
        }
        var waiting = new int[nodes.Count];
        var consumers = nodes.Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < nodes.Count; i++)
            foreach (string input in nodes[i].Inputs)
                if (producer.TryGetValue(input, out int p))
                {
                    waiting[i]++;
                    consumers[p].Add(i);
                }
        // Of the nodes whose inputs are all computed, the first in the file: a valid order stays as it is.
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < nodes.Count; i++)
            if (waiting[i] == 0) ready.Enqueue(i, i);
        var order = new List<OnnxNode>(nodes.Count);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(nodes[i]);
            foreach (int c in consumers[i])
                if (--waiting[c] == 0) ready.Enqueue(c, c);
        }
        if (order.Count < nodes.Count) throw Cycle(nodes, producer, waiting);
        ReleaseNodes(producer);
        return order;
    }

    /// <summary>Whether every node comes after the producers of its inputs.</summary>
    private static bool Sorted(IReadOnlyList<OnnxNode> nodes, Dictionary<string, int> producer)
    {
        for (int i = 0; i < nodes.Count; i++)
            foreach (string input in nodes[i].Inputs)
                if (producer.TryGetValue(input, out int p) && p >= i) return false;
        return true;
    }

    /// <summary>
    /// Empties a map over a graph's values once the import is done with it. A large graph's map has its entries in the
    /// large-object heap, which only a gen-2 collection frees: left to the GC, each import's dead entries kept its
    /// parsed nodes (or their names) alive through every gen-0 collection until then (a loop of ViT-Ti/16 reads, GC
    /// without background collections: gen-0 pauses of 40–76 ms, each promoting 18–31 MB of earlier reads' nodes).
    /// </summary>
    private static void ReleaseNodes<T>(Dictionary<string, T>? map) => map?.Clear();

    /// <summary>
    /// The error for a graph whose unplaced nodes (those still <paramref name="waiting"/>) hold a cycle: each waits on
    /// an unplaced producer, so walking from producer to producer comes back to a node it has seen; what lies between
    /// is the cycle (nodes that only read from it are not named).
    /// </summary>
    private static ModelImportException Cycle(IReadOnlyList<OnnxNode> nodes, Dictionary<string, int> producer, int[] waiting)
    {
        var seen = new Dictionary<int, int>();
        var walk = new List<int>();
        int node = Array.FindIndex(waiting, w => w > 0);
        while (seen.TryAdd(node, walk.Count))
        {
            walk.Add(node);
            node = nodes[node].Inputs.Select(i => producer.GetValueOrDefault(i, -1)).First(p => p >= 0 && waiting[p] > 0);
        }
        // Walked against the data's flow; said along it, from the node listed first.
        int[] cycle = walk[seen[node]..].ToArray();
        Array.Reverse(cycle);
        int first = Array.IndexOf(cycle, cycle.Min());
        var said = cycle[first..].Concat(cycle[..first]).Append(cycle[first]).Select(i => $"{nodes[i].OpType} '{NodeName(nodes[i])}'");
        return new ModelImportException($"The graph has a cycle: {string.Join(" → ", said)}, each node reading the one before it, so no order computes them; an ONNX graph must be acyclic (ONNX Runtime refuses it too). Re-export the model, or fix the edit that made the cycle.");
    }

    private void CheckOperators(OnnxGraph graph)
    {
        var unsupported = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            bool defaultDomain = node.Domain is "" or "ai.onnx";
            if (defaultDomain && Supported.Contains(node.OpType)) continue;
            string op = defaultDomain ? node.OpType : $"{node.Domain}.{node.OpType}";
            if (!unsupported.TryGetValue(op, out var nodes)) unsupported[op] = nodes = [];
            nodes.Add(NodeName(node));
        }
        if (unsupported.Count > 0)
            throw new UnsupportedOperatorException(_network.Name, unsupported.ToDictionary(u => u.Key, u => (IReadOnlyList<string>)u.Value));
    }

    /// <summary>
    /// CastLike (what torch's dynamo-based exporter writes unoptimized) as the Cast it stands for: to its second
    /// input's element type, a float unless that is a boolean or an integer (computed at run time or known at import).
    /// </summary>
    private OnnxNode AsCast(OnnxNode node)
    {
        string like = node.Inputs[1];
        var to = _runTimeBooleans.Contains(like) ? OnnxDataType.Bool
            : _initializers.TryGetValue(like, out var initializer) && !_bound.ContainsKey(like) ? initializer.DataType
            : _runTimeIntegers.Contains(like) || IsInteger(like) ? OnnxDataType.Int64
            : OnnxDataType.Float;
        return new OnnxNode(node.Name, "Cast", "", [node.Inputs[0]], [.. node.Outputs],
                            [new OnnxAttribute("to", OnnxAttributeType.Int, 0, (long)to, [], null, null, [], [], [], [], [])]);
    }

    private void ImportNode(OnnxNode node)
    {
        string name = NodeName(node);
        if (IsRunTimeLengthSlice(node))
        {
            ImportRunTimeLengthSlice(node, name);
            return;
        }
        if (node.OpType is "Shape" or "ConstantOfShape" || (Foldable.Contains(node.OpType) && FoldsAsIntegers(node)))
        {
            FoldIntegers(node, name);
            return;
        }
        if (FoldsAsWeights(node))
        {
            FoldWeights(node, name);
            return;
        }
        if (FoldsAsMask(node))
        {
            FoldMask(node, name);
            return;
        }
        switch (node.OpType)
        {
            case "Constant": ImportConstant(node); return;
            case "Identity" or "Dropout":
            {
                if (node.OpType == "Dropout") CheckInferenceDropout(node, name);
                var x = Float(node.Inputs[0], name);
                // A weight seen through Identity is the same weight (tied weights stay one refittable weight).
                _values[node.Outputs[0]] = x.IsWeight ? x : _network.AddLayer(new ReshapeLayer(name, ReshapeMode.Identity, x), node.Outputs[0]);
                return;
            }
            case "Gemm": Define(node, ImportGemm(node, name)); return;
            case "MatMul": Define(node, ImportMatMul(node, name)); return;
            case "Add": Define(node, Binary(node, name, BinaryOp.Add)); return;
            case "Sub": Define(node, Binary(node, name, BinaryOp.Sub)); return;
            case "Mul": Define(node, Binary(node, name, BinaryOp.Mul)); return;
            case "Div": Define(node, Binary(node, name, BinaryOp.Div)); return;
            case "Relu": Define(node, Unary(node, name, new Activation(ActivationKind.Relu))); return;
            case "Sigmoid": Define(node, Unary(node, name, new Activation(ActivationKind.Sigmoid))); return;
            case "Tanh": Define(node, Unary(node, name, new Activation(ActivationKind.Tanh))); return;
            case "Erf": Define(node, Unary(node, name, new Activation(ActivationKind.Erf))); return;
            case "HardSwish": Define(node, Unary(node, name, new Activation(ActivationKind.HardSwish))); return;
            case "HardSigmoid":
                Define(node, Unary(node, name, new Activation(ActivationKind.HardSigmoid, node.GetFloat("alpha", 0.2f), node.GetFloat("beta", 0.5f))));
                return;
            case "LeakyRelu": Define(node, Unary(node, name, new Activation(ActivationKind.LeakyRelu, node.GetFloat("alpha", 0.01f)))); return;
            case "Exp": Define(node, Unary(node, name, new Activation(ActivationKind.Exp))); return;
            case "Neg": Define(node, Unary(node, name, new Activation(ActivationKind.Neg))); return;
            case "Abs": Define(node, Unary(node, name, new Activation(ActivationKind.Abs))); return;
            case "Sqrt": Define(node, Unary(node, name, new Activation(ActivationKind.Sqrt))); return;
            case "Reciprocal": Define(node, Unary(node, name, new Activation(ActivationKind.Reciprocal))); return;
            case "Log": Define(node, Unary(node, name, new Activation(ActivationKind.Log))); return;
            case "Sin": Define(node, Unary(node, name, new Activation(ActivationKind.Sin))); return;
            case "Cos": Define(node, Unary(node, name, new Activation(ActivationKind.Cos))); return;
            case "Softplus": Define(node, Unary(node, name, new Activation(ActivationKind.Softplus))); return;
            case "Softsign": Define(node, Unary(node, name, new Activation(ActivationKind.Softsign))); return;
            case "Mish": Define(node, Unary(node, name, new Activation(ActivationKind.Mish))); return;
            case "Gelu": ImportGelu(node, name); return;
            case "Sign": Define(node, Unary(node, name, new Activation(ActivationKind.Sign))); return;
            case "Elu": Define(node, Unary(node, name, new Activation(ActivationKind.Elu, node.GetFloat("alpha", 1f)))); return;
            case "Selu":
                // ONNX's defaults, as float32 holds them.
                Define(node, Unary(node, name, new Activation(ActivationKind.Selu, node.GetFloat("alpha", 1.67326319217681884765625f), node.GetFloat("gamma", 1.05070102214813232421875f))));
                return;
            case "Pow": Define(node, ImportPow(node, name)); return;
            case "Max": Define(node, Variadic(node, name, BinaryOp.Max)); return;
            case "Min": Define(node, Variadic(node, name, BinaryOp.Min)); return;
            case "Sum": Define(node, Variadic(node, name, BinaryOp.Add)); return;
            case "Mean": ImportMean(node, name); return;
            case "LogSoftmax": ImportLogSoftmax(node, name); return;
            case "Clip": Define(node, ImportClip(node, name)); return;
            case "Softmax":
            {
                var x = Tensor(node.Inputs[0], name);
                bool legacy = Opset < 13;
                int axis = checked((int)node.GetInt("axis", legacy ? 1 : -1));
                int rank = _network.Dims(x).Length;
                int normalized = Shapes.NormalizeAxis(axis, rank, "Softmax", name);
                Define(node, new SoftmaxLayer(name, axis, x, flattenTrailing: legacy && normalized != rank - 1));
                return;
            }
            case "LayerNormalization": Define(node, ImportLayerNorm(node, name)); return;
            case "Flatten":
                Define(node, new ReshapeLayer(name, ReshapeMode.Flatten, Tensor(node.Inputs[0], name), axis: FlattenAxis(node, name)));
                return;
            case "Reshape":
            {
                long[] target = ReshapeTarget(node, out int[]? sources);
                Define(node, new ReshapeLayer(name, ReshapeMode.Reshape, Float(node.Inputs[0], name), target, allowZero: node.GetInt("allowzero", 0) != 0, sources: sources));
                return;
            }
            case "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual" or "Not" or "And" or "Or" or "Xor" or "IsNaN" or "IsInf" or "Where":
                ImportRunTimeMask(node, name);
                return;
            case "Trilu": ImportRunTimeTrilu(node, name); return;
            case "OneHot": ImportOneHot(node, name); return;
            default:
                ImportCnn(node, name);
                return;
        }
    }

    private long Opset => _model.DefaultOpset;

    /// <summary>
    /// Dropout passes its input through at inference. Training mode (a training_mode input that is true or known only
    /// at run time) drops at random, and its mask output is a bool tensor: both are refused, the mask where anything
    /// reads it.
    /// </summary>
    private void CheckInferenceDropout(OnnxNode node, string name)
    {
        if (Has(node, 2) && (!IsInteger(node.Inputs[2]) || KnownIntegers(node, 2, "training_mode").Any(v => v != 0)))
            throw new ModelImportException($"Dropout '{name}' is in training mode (its training_mode input '{node.Inputs[2]}' is not a constant false), which drops values at random; TrtEngine runs inference only (export the model in eval mode).");
        if (node.Outputs.Count > 1 && node.Outputs[1] is { Length: > 0 } mask
            && (_model.Graph.Nodes.Any(n => n.Inputs.Contains(mask)) || _model.Graph.Outputs.Any(o => o.Name == mask)))
            throw new ModelImportException($"Dropout '{name}': its mask output '{mask}' is used; TrtEngine computes float tensors only, and at inference the mask is all true (remove its uses).");
    }

    private Layer ImportLayerNorm(OnnxNode node, string name)
    {
        // Mean and InvStdDev are what a training graph's backward pass reads; an inference export leaves them unnamed.
        if (node.Outputs.Skip(1).Any(o => o.Length > 0))
            throw new ModelImportException($"LayerNormalization '{name}': its Mean and InvStdDev outputs are not supported; TrtEngine computes Y only (export the model for inference).");
        // stash_type 1 (the default) computes the statistics in float, as TrtEngine does.
        if (node.GetInt("stash_type", 1) is var stash and not 1)
            throw new ModelImportException($"LayerNormalization '{name}': stash_type {stash} asks for statistics in another type; TrtEngine computes them in float (stash_type 1).");
        var x = Tensor(node.Inputs[0], name);
        int axis = checked((int)node.GetInt("axis", -1));
        int[] dims = _network.Dims(x);
        int[] normalized = dims[Shapes.NormalizeAxis(axis, dims.Length, "LayerNormalization", name)..];
        var bias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Normalized(node, name, 2, normalized) : ValueRef.None;
        return new LayerNormLayer(name, x, Normalized(node, name, 1, normalized), bias, axis, node.GetFloat("epsilon", 1e-5f));
    }

    /// <summary>
    /// A LayerNormalization's scale or bias, one value per normalised position. One that broadcasts to them (a [1, W]
    /// scale over [H, W] rows, which ONNX allows) is expanded by a multiplication by ones: a computed weight a refit
    /// re-runs (found by an operator differential: such a valid model was refused).
    /// </summary>
    private ValueRef Normalized(OnnxNode node, string name, int index, int[] normalized)
    {
        var value = Float(node.Inputs[index], name);
        int[] dims = _network.Dims(value);
        // One that does not broadcast so is left for the layer to refuse, naming both shapes.
        bool broadcasts = dims.Length <= normalized.Length && Enumerable.Reverse(dims).Zip(Enumerable.Reverse(normalized)).All(p => p.First == 1 || p.First == p.Second);
        if (!value.IsWeight || normalized.Any(d => d < 0) || !broadcasts || Shapes.ElementCount(dims) == Shapes.ElementCount(normalized)) return value;
        string output = $"{name}/{node.Inputs[index]}/expanded";
        var ones = _network.AddWeights(new ModelWeights(output + "/ones", normalized, Enumerable.Repeat(1f, checked((int)Shapes.ElementCount(normalized))).ToArray(), WeightKind.Constant));
        AddFolded(node, name, FoldedOpKind.Binary, [_network.Weights[value.Index], _network.Weights[ones.Index]], [(int)BinaryOp.Mul], [], output);
        return _values[output];
    }

    private Layer ImportGemm(OnnxNode node, string name)
    {
        var a = Tensor(node.Inputs[0], name);
        var b = Float(node.Inputs[1], name);
        if (!b.IsWeight) throw NotAWeight($"Gemm '{name}'", node.Inputs[1]);
        int[] bShape = _network.Dims(b);
        if (bShape.Length != 2) throw new ModelImportException($"Gemm '{name}': B has shape {Shapes.Format(bShape)}, expected 2-D.");
        bool transA = node.GetInt("transA", 0) != 0, transB = node.GetInt("transB", 0) != 0;
        float alpha = node.GetFloat("alpha", 1f), beta = node.GetFloat("beta", 1f);
        int k = transB ? bShape[1] : bShape[0], n = transB ? bShape[0] : bShape[1];
        var bias = ValueRef.None;
        ValueRef? addAfter = null;
        if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0 && beta != 0f)
        {
            var c = Float(node.Inputs[2], name);
            int[] cShape = _network.Dims(c);
            bool perColumn = c.IsWeight && (cShape.Length == 0 || cShape.All(d => d == 1) || (cShape[^1] == n && cShape[..^1].All(d => d == 1)));
            if (perColumn) bias = c;
            else if (beta == 1f) addAfter = c;
            else throw new ModelImportException($"Gemm '{name}': a C of shape {Shapes.Format(cShape)} with beta {beta} is not supported; only per-column biases may be scaled.");
        }
        var gemm = new GemmLayer(name, a, b, bias, transA, transB, alpha, bias.IsNone ? 1f : beta, k, n);
        if (addAfter is not ValueRef add) return gemm;
        var product = _network.AddLayer(gemm, node.Outputs[0] + "/gemm");
        return new ElementwiseLayer(name + "/C", BinaryOp.Add, product, add);
    }

    private Layer ImportMatMul(OnnxNode node, string name)
    {
        var a = Float(node.Inputs[0], name);
        var b = Float(node.Inputs[1], name);
        int[] bShape = _network.Dims(b);
        if (!a.IsWeight && b.IsWeight && bShape.Length == 2)
        {
            // A Linear layer over the rows of a larger tensor (ConvNeXt's blocks) exports as a MatMul by its weight
            // transposed: the GEMM reads the parameter itself as a transposed B, so a refit packs it once instead of first
            // transposing it into a computed weight (which no layer then reads, and the builder drops).
            string bName = _network.Weights[b.Index].Name;
            if (_network.FoldedOps.LastOrDefault(op => op.Output == bName) is { Kind: FoldedOpKind.Transpose, Ints: [1, 0] } transpose)
                return new GemmLayer(name, a, Float(transpose.Inputs[0], name), ValueRef.None, false, true, 1f, 1f, bShape[0], bShape[1]);
            return new GemmLayer(name, a, b, ValueRef.None, false, false, 1f, 1f, bShape[0], bShape[1]);
        }
        return new MatMulLayer(name, a, b);
    }

    private Layer Binary(OnnxNode node, string name, BinaryOp op)
    {
        if (op == BinaryOp.Div) RefuseIntegerDivision(node, name);
        return new ElementwiseLayer(name, op, Numeric(node, 0, name), Numeric(node, 1, name));
    }

    /// <summary>Flatten's axis; a negative one counts from the end only from opset 11 (ONNX Runtime refuses it before).</summary>
    private int FlattenAxis(OnnxNode node, string name)
    {
        int axis = checked((int)node.GetInt("axis", 1));
        if (axis < 0 && Opset < 11)
            throw new ModelImportException($"Flatten '{name}': axis {axis} is negative, which Flatten takes from opset 11 on (the model imports opset {Opset}).");
        return axis;
    }

    /// <summary>Pow; an integer exponent (from opset 12) is read at import as a float constant, as ONNX Runtime computes it.</summary>
    private Layer ImportPow(OnnxNode node, string name)
    {
        RefuseInexactIntegerPower(node, name);
        if (!IsInteger(node.Inputs[1])) return Binary(node, name, BinaryOp.Pow);
        var exponent = Integer(node.Inputs[1], name);
        float[] values = KnownIntegers(node, 1, "exponent").Select(v => (float)v).ToArray();
        var weights = _network.AddWeights(new ModelWeights($"{name}/exponent", exponent.Dims, values, WeightKind.Constant));
        return new ElementwiseLayer(name, BinaryOp.Pow, Float(node.Inputs[0], name), weights);
    }

    /// <summary>Max, Min or Sum of one or more inputs (broadcast together), taken pairwise from the first.</summary>
    private Layer Variadic(OnnxNode node, string name, BinaryOp op)
    {
        var inputs = node.Inputs.Where(i => i.Length > 0).Select(i => Float(i, name)).ToArray();
        if (inputs.Length == 1) return new ReshapeLayer(name, ReshapeMode.Identity, inputs[0]);
        var result = inputs[0];
        for (int i = 1; i < inputs.Length - 1; i++)
            result = Step(node.Outputs[0], $"{i}", new ElementwiseLayer($"{name}/{i}", op, result, inputs[i]));
        return new ElementwiseLayer(name, op, result, inputs[^1]);
    }

    private Layer Unary(OnnxNode node, string name, Activation activation) => new ActivationLayer(name, activation, Tensor(node.Inputs[0], name));

    private void ImportConstant(OnnxNode node)
    {
        string output = node.Outputs[0];
        // A weights file's value for it replaces it, as a refit from that file would (the file's reader checked the shape).
        if (_bound.TryGetValue(output, out var bound))
            _values[output] = BoundConstant(bound);
        else if (node.GetTensor("value") is OnnxTensor t)
        {
            if (IsFloat(t.DataType)) _values[output] = _network.AddWeights(new ModelWeights(output, ToShape(t.Dims, output), t.ToSingleArray(), WeightKind.Constant));
            else _integers[output] = new IntegerTensor(ToShape(t.Dims, output), t.ToInt64Array());
        }
        // Read through the typed getters: a value of another type than its name says is refused, not read as 0.
        else if (node.FindAttribute("value_float") is not null) _values[output] = _network.AddWeights(new ModelWeights(output, [], [node.GetFloat("value_float", 0f)], WeightKind.Constant));
        else if (node.GetFloats("value_floats") is { } fs) _values[output] = _network.AddWeights(new ModelWeights(output, [fs.Count], [.. fs], WeightKind.Constant));
        else if (node.FindAttribute("value_int") is not null) _integers[output] = new IntegerTensor([], [node.GetInt("value_int", 0)]);
        else if (node.GetInts("value_ints") is { } iss) _integers[output] = IntegerTensor.Vector([.. iss]);
        else throw new ModelImportException($"Constant '{NodeName(node)}' has no value TrtEngine can read (value, value_float(s) or value_int(s)).");
    }

    /// <summary>A weights file's value for a constant of the model (a Constant node's, or one read as a layer's parameter).</summary>
    private ValueRef BoundConstant(WeightTensor bound) => _network.AddWeights(new ModelWeights(bound.Name, bound.Shape, bound.Data, WeightKind.Constant));

    private void Define(OnnxNode node, Layer layer) => _values[node.Outputs[0]] = _network.AddLayer(layer, node.Outputs[0]);

    /// <summary>A float value by name: a computed tensor, or a weight (added to the network on first use).</summary>
    private ValueRef Float(string valueName, string user)
    {
        if (_values.TryGetValue(valueName, out var v)) return v;
        if (_bound.TryGetValue(valueName, out var bound))
            return _values[valueName] = _network.AddWeights(new ModelWeights(valueName, bound.Shape, bound.Data, WeightKind.Parameter));
        if (_initializers.TryGetValue(valueName, out var init))
        {
            if (!IsFloat(init.DataType)) throw NotFloat(user, valueName, init.DataType.ToString());
            float[] values = init.ToSingleArray(_allocateParameter);
            _values[valueName] = _network.AddWeights(new ModelWeights(valueName, ToShape(init.Dims, valueName), values, WeightKind.Parameter));
            return _values[valueName];
        }
        if (_integers.ContainsKey(valueName)) throw NotFloat(user, valueName, "integer");
        if (_model.Graph.Inputs.Any(i => i.Name == valueName))
            throw new ModelImportException($"{user}: '{valueName}' is a graph input with no value. " + (_bound.Count == 0
                ? "If it is a weight, pass the weights file (-WeightsPath)."
                : "If it is a weight, the -WeightsPath file has no tensor of that name (after -NameMap, when given): rename the file's tensor to it."));
        throw new ModelImportException($"{user}: '{valueName}' is not defined by any node, initializer or input.");
    }

    private static ModelImportException NotFloat(string user, string valueName, string type) =>
        new($"{user}: '{valueName}' is {("aeioAEIO".Contains(type[0]) ? "an" : "a")} {type} tensor where a float tensor is needed; TrtEngine's engines compute float32 tensors only (integers only at import, for shapes). Cast it to float in the model.");

    /// <summary>Why a value that must be a weight is not one: a graph input (a model exported without its parameters) wants -WeightsPath.</summary>
    private ModelImportException NotAWeight(string user, string valueName) =>
        new(_model.Graph.Inputs.Any(i => i.Name == valueName)
            ? $"{user}: '{valueName}' is a graph input, fed at run time, where TrtEngine needs a weight. " + (_bound.Count == 0
                ? "If the model was exported without its parameters, give their values as a safetensors or torch checkpoint of the model's state dict (New-TrtEngine and Import-TrtEngine -WeightsPath; to refit, Update-TrtEngineWeights -Path with the checkpoint)."
                : "The -WeightsPath file has no tensor of that name (after -NameMap, when given): rename the file's tensor to it.")
            : $"{user}: '{valueName}' is computed at run time; TrtEngine needs it as a weight (an initializer or a Constant).");

    private ValueRef Tensor(string valueName, string user)
    {
        var v = Float(valueName, user);
        if (v.IsWeight) throw new ModelImportException($"{user}: its input '{valueName}' is a weight; TrtEngine needs a computed tensor here (export with constant folding).");
        return v;
    }

    private static bool IsFloat(OnnxDataType type) => OnnxTensor.IsFloatingPoint(type);

    private static int[] ToShape(long[] dims, string what)
    {
        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0 || dims[i] > int.MaxValue) throw new ModelImportException($"Weight '{what}' has dimension {dims[i]}.");
            shape[i] = (int)dims[i];
        }
        return shape;
    }

    private static string NodeName(OnnxNode node) => node.Name.Length > 0 ? node.Name : $"{node.OpType}({string.Join(",", node.Outputs)})";
}
