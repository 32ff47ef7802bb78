using TrtEngine.Native.Builder;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Expand to dims only the run time knows: a ViT's class token expanded to the batch (Shape(x)[0], through
/// Unsqueeze, Concat and the Equal/Where that the exporter writes for expand(-1)). Each such dim is traced back
/// through the shape arithmetic to the tensor and axis it was read from, and the expansion multiplies by ones of that
/// dim, made at run time from the tensor itself.
/// </summary>
public sealed partial class OnnxImporter
{
    private Dictionary<string, OnnxNode>? _producers;
    private readonly Dictionary<string, ProbeShapes> _probed = new(StringComparer.Ordinal);
    // The network inputs' dynamic dims by the name the model gives them (dim_param): dims of one name are one size.
    private readonly Dictionary<string, List<(int Input, int Axis)>> _namedDims = new(StringComparer.Ordinal);
    // Those of two or more dims, which the probes move together; made once the inputs are in (before any node).
    private List<(int Input, int Axis)[]>? _dimGroups;

    /// <summary>Whether an Expand's target shape holds an element only the run time knows.</summary>
    private bool ExpandsToRunTimeDims(OnnxNode node) =>
        Has(node, 1) && IsInteger(node.Inputs[1]) && !Integer(node.Inputs[1], NodeName(node)).IsKnown;

    /// <summary>
    /// Expand of <paramref name="node"/>'s input (a tensor or a weight) to a target some of whose elements are dims
    /// of run-time tensors: the product of the input with ones of each such dim, placed at its axis of the target,
    /// and with constant ones where the target's known dims widen the input. Products with ones are exact (NaN,
    /// infinities and −0 included), as the Expand folded at import is.
    /// </summary>
    /// <remarks>Integers (or booleans) known at import become run-time ones: a mask an exporter computed ahead, expanded to the batch.</remarks>
    private void ImportRunTimeExpand(OnnxNode node, string name) => ExpandToRunTimeDims(node, name, Numeric(node, 0, name), node.Inputs[1]);

    /// <summary>
    /// ConstantOfShape of float values to a shape holding dims of run-time tensors (torch's zeros_like or full_like of
    /// a tensor with a dynamic batch): its value expanded so.
    /// </summary>
    private void ImportRunTimeConstantOfShape(OnnxNode node, string name, float value) =>
        ExpandToRunTimeDims(node, name, _network.AddWeights(new ModelWeights($"{node.Outputs[0]}/value", [], [value], WeightKind.Constant)), node.Inputs[0]);

    private void ExpandToRunTimeDims(OnnxNode node, string name, ValueRef input, string shape)
    {
        string output = node.Outputs[0];
        long[] target = Integer(shape, name).Values;
        var result = input;
        for (int i = 0; i < target.Length; i++)
        {
            if (target[i] != IntegerTensor.Unknown) continue;
            var (tensor, axis) = DimOrigin(shape, i) ?? throw Dynamic(node, name, shape);
            var ones = RunTimeOnes(_values[tensor], axis, target.Length, i, $"{output}/ones{i}");
            result = _network.AddLayer(new ElementwiseLayer($"{name}/ones{i}", BinaryOp.Mul, result, ones), $"{output}/expanded{i}");
        }
        int[] known = target.Select(v => v == IntegerTensor.Unknown ? 1 : checked((int)v)).ToArray();
        int[] dims = _network.Dims(result);
        if (!Shapes.Broadcast(dims, known).SequenceEqual(dims))
        {
            long count = IntegerOps.CheckedCount(node.OpType, name, known, 1 << 22);
            var constant = _network.AddWeights(new ModelWeights(output + "/ones", known, Enumerable.Repeat(1f, (int)count).ToArray(), WeightKind.Constant));
            result = _network.AddLayer(new ElementwiseLayer(name, BinaryOp.Mul, result, constant), output);
        }
        _values[output] = result;
    }

    /// <summary>Range(0, n, 1) where n is a dim of a run-time tensor (torch.arange(x.shape[0]) over a dynamic batch).</summary>
    private bool IsRunTimeArange(OnnxNode node) =>
        node.Inputs.All(IsInteger) && !Integer(node.Inputs[1], NodeName(node)).IsKnown && Integer(node.Inputs[0], NodeName(node)).Values is [0]
        && Integer(node.Inputs[2], NodeName(node)).Values is [1] && Integer(node.Inputs[1], NodeName(node)).Values.Length == 1;

    /// <summary>
    /// torch.arange(n) of a dim n only the run time knows: ones of that dim (made from the tensor it is read from),
    /// summed before each position (an exclusive CumSum): 0, 1, …, n − 1, a run-time integer.
    /// </summary>
    private void ImportRunTimeArange(OnnxNode node, string name)
    {
        _values[node.Outputs[0]] = RunTimeArange(node, name, node.Inputs[1], node.Outputs[0]);
        _runTimeIntegers.Add(node.Outputs[0]);
    }

    /// <summary>0, 1, …, n − 1 where n, the only element of <paramref name="count"/>, is a dim of a run-time tensor.</summary>
    private ValueRef RunTimeArange(OnnxNode node, string name, string count, string output)
    {
        var (tensor, axis) = DimOrigin(count, 0) ?? throw Dynamic(node, name, count);
        var ones = RunTimeOnes(_values[tensor], axis, 1, 0, $"{output}/ones");
        return _network.AddLayer(new AxisLayer(name, ones, AxisOperation.CumSum, 0, keepDims: true, last: false, exclusive: true), output);
    }

    /// <summary>
    /// A Slice of a constant or weight from 0 to a dim only the run time knows, along one axis (Hugging Face's
    /// position_ids[:, :seq_len], a position table cut to the tokens): its rows at 0 … n − 1, gathered at run time.
    /// </summary>
    private bool IsRunTimeLengthSlice(OnnxNode node) =>
        node.OpType == "Slice" && Opset >= 10 && (IsInteger(node.Inputs[0]) || IsWeightValue(node.Inputs[0])) && Has(node, 2)
        && IsInteger(node.Inputs[1]) && Integer(node.Inputs[1], NodeName(node)).Values is [0]
        && IsInteger(node.Inputs[2]) && Integer(node.Inputs[2], NodeName(node)).Values is [IntegerTensor.Unknown]
        && (!Has(node, 4) || IsInteger(node.Inputs[4]) && Integer(node.Inputs[4], NodeName(node)).Values is [1])
        && (!Has(node, 3) || IsInteger(node.Inputs[3]) && Integer(node.Inputs[3], NodeName(node)).IsKnown)
        && DimOrigin(node.Inputs[2], 0) is not null;

    private void ImportRunTimeLengthSlice(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var data = Numeric(node, 0, name);
        int axis = Has(node, 3) ? IntegerOps.Axis(KnownIntegers(node, 3, "axes")[0], _network.Dims(data).Length, name) : 0;
        var positions = RunTimeArange(node, $"{name}/positions", node.Inputs[2], $"{output}/positions");
        Define(node, new GatherLayer(name, data, positions, axis));
    }

    /// <summary>
    /// Ones of rank <paramref name="rank"/> whose axis <paramref name="position"/> is <paramref name="tensor"/>'s dim
    /// <paramref name="axis"/> at run time: a slice of one element along every other axis, reshaped, raised to the
    /// power 0 (1 for every value, NaN and infinities included).
    /// </summary>
    private ValueRef RunTimeOnes(ValueRef tensor, int axis, int rank, int position, string prefix)
    {
        int tensorRank = _network.Dims(tensor).Length;
        long[] others = Enumerable.Range(0, tensorRank).Where(a => a != axis).Select(a => (long)a).ToArray();
        var slice = others.Length == 0 ? tensor : _network.AddLayer(
            new SliceLayer(prefix + "/slice", tensor, new long[others.Length], Enumerable.Repeat(1L, others.Length).ToArray(), others,
                Enumerable.Repeat(1L, others.Length).ToArray()), prefix + "/slice");
        long[] shape = Enumerable.Repeat(1L, rank).ToArray();
        shape[position] = -1;
        var placed = _network.AddLayer(new ReshapeLayer(prefix + "/reshape", ReshapeMode.Reshape, slice, shape), prefix + "/reshape");
        var zero = _network.AddWeights(new ModelWeights(prefix + "/zero", [1], [0f], WeightKind.Constant));
        return _network.AddLayer(new ElementwiseLayer(prefix + "/pow", BinaryOp.Pow, placed, zero), prefix);
    }

    /// <summary>
    /// The run-time tensor and axis whose dim element <paramref name="index"/> of integer value
    /// <paramref name="value"/> is, followed back through the operators that move shape elements without computing
    /// with them (Shape, Gather, Slice, Concat, Identity, Cast, Reshape, Squeeze, Unsqueeze, and a Where whose condition is
    /// decided); null where it is computed (a product of dims) or cannot be followed. The walk ends: every value has
    /// one producer and the graph has no cycle (<see cref="TopologicalOrder"/> refused one before any node was imported).
    /// It is a loop, not a recursion: a chain of thousands of nodes overflowed the stack.
    /// </summary>
    private (string Tensor, int Axis)? DimOrigin(string value, long index)
    {
        if (_producers is null)
        {
            _producers = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
            foreach (var n in _model.Graph.Nodes)
                foreach (string output in n.Outputs)
                    if (output.Length > 0) _producers.TryAdd(output, n);
        }
        while (_producers.TryGetValue(value, out var node))
        {
            string name = NodeName(node);
            switch (node.OpType)
            {
                case "Shape":
                {
                    string input = node.Inputs[0];
                    if (!_values.TryGetValue(input, out var tensor) || tensor.IsWeight) return null;
                    int[] dims = _network.Dims(tensor);
                    long start = node.GetInt("start", 0);
                    long axis = (start < 0 ? Math.Max(0, start + dims.Length) : start) + index;
                    return axis < dims.Length && dims[axis] < 0 ? (input, (int)axis) : null;
                }
                case "Identity" or "Reshape" or "Squeeze" or "Unsqueeze":
                    value = node.Inputs[0];
                    continue;
                case "Cast":
                    if (node.GetInt("to", 0) == (long)OnnxDataType.Bool) return null;
                    value = node.Inputs[0];
                    continue;
                case "Gather":
                {
                    var data = Integer(node.Inputs[0], name);
                    long[] indices = Integer(node.Inputs[1], name).Values;
                    if (data.Dims.Length != 1 || index >= indices.Length) return null;
                    long k = indices[indices.Length == 1 ? 0 : index];
                    if (k == IntegerTensor.Unknown) return null;
                    (value, index) = (node.Inputs[0], k < 0 ? k + data.Dims[0] : k);
                    continue;
                }
                case "Slice":
                {
                    // Element index of the slice is the element of the input that slicing the input's positions puts there.
                    var (starts, ends, _, steps) = SliceParameters(node);
                    int length = Integer(node.Inputs[0], name).Values.Length;
                    long[] positions = IntegerOps.Slice(IntegerTensor.Vector([.. Enumerable.Range(0, length).Select(i => (long)i)]), starts[0], ends[0], steps[0], name).Values;
                    if (index >= positions.Length) return null;
                    (value, index) = (node.Inputs[0], positions[index]);
                    continue;
                }
                case "Concat":
                {
                    string? part = null;
                    foreach (string input in node.Inputs)
                    {
                        long length = Integer(input, name).Values.Length;
                        if (index < length)
                        {
                            part = input;
                            break;
                        }
                        index -= length;
                    }
                    if (part is null) return null;
                    value = part;
                    continue;
                }
                case "Where":
                {
                    long condition = Element(node.Inputs[0], index, name);
                    if (condition == IntegerTensor.Unknown && NeverEqual(node.Inputs[0], index)) condition = 0;
                    if (condition == IntegerTensor.Unknown) return null;
                    string picked = node.Inputs[condition != 0 ? 1 : 2];
                    (value, index) = (picked, Integer(picked, name).Values.Length == 1 ? 0 : index);
                    continue;
                }
                default:
                    return null;
            }
        }
        return null;
    }

    /// <summary>
    /// Whether element <paramref name="index"/> of an Equal's result is false though unknown: it compares a
    /// run-time dim with a negative constant (the exporter's test for expand's −1), which no dim equals.
    /// </summary>
    private bool NeverEqual(string value, long index)
    {
        if (_producers!.GetValueOrDefault(value) is not { OpType: "Equal" } equal) return false;
        string name = NodeName(equal);
        long a = Element(equal.Inputs[0], index, name), b = Element(equal.Inputs[1], index, name);
        return (a == IntegerTensor.Unknown && b is < 0 and not IntegerTensor.Unknown && DimOrigin(equal.Inputs[0], index) is not null)
            || (b == IntegerTensor.Unknown && a is < 0 and not IntegerTensor.Unknown && DimOrigin(equal.Inputs[1], index) is not null);
    }

    /// <summary>
    /// Whether dim <paramref name="axis"/> of <paramref name="data"/> is dim <paramref name="originAxis"/> of
    /// <paramref name="origin"/> at every input shape: the same dim of the same tensor, or equal at shape probes of the
    /// network built so far (each dynamic input dim at 32 and 64, then each alone at 4096: sizes any stride and pooling
    /// divides, so a dim carried through layers, such as a batch, stays equal, and one a Slice or Concat changed parts).
    /// </summary>
    private bool SameDim(ValueRef data, int axis, ValueRef origin, int originAxis)
    {
        if (data.Index == origin.Index) return axis == originAxis;
        if (axis >= _network.Dims(data).Length) return false;
        return Probes().Holds(shapes => shapes[data.Index][axis] == shapes[origin.Index][originAxis]);
    }

    /// <summary>
    /// Shape probes of the network built so far (each dynamic input dim at 32 and 64, then each alone at 4096; the dims
    /// the model names alike, two inputs' 'batch', together).
    /// </summary>
    private ShapeProbes Probes()
    {
        var profiles = _network.Inputs.Select(i => _network.Tensors[i].Dims)
            .Select(d => new ShapeProfile(Probe(d, 32), Probe(d, 64), Probe(d, int.MaxValue))).ToArray();
        return new ShapeProbes(profiles, ProbedShapes, _dimGroups ??= _namedDims.Values.Where(g => g.Count > 1).Select(g => g.ToArray()).ToList());
    }

    /// <summary>
    /// The network's shapes at one probe's input shapes, inferred only for the layers added since the probe was last
    /// asked (the network only grows): ViT-Ti/16's import asks 147 times over its 547 layers, and inferring the whole
    /// network each time was about a fifth of its import. A probe the network failed at fails again, as re-inferring it would.
    /// </summary>
    private int[][] ProbedShapes(int[][] inputShapes)
    {
        string key = string.Join(";", inputShapes.Select(s => string.Join(",", s)));
        if (!_probed.TryGetValue(key, out var probe))
        {
            var shapes = new int[_network.Tensors.Count][];
            for (int i = 0; i < _network.Inputs.Count; i++) shapes[_network.Inputs[i]] = inputShapes[i];
            _probed[key] = probe = new ProbeShapes { Shapes = shapes };
        }
        if (probe.Failure is not null) throw probe.Failure;
        if (probe.Shapes.Length < _network.Tensors.Count) Array.Resize(ref probe.Shapes, Math.Max(_network.Tensors.Count, 2 * probe.Shapes.Length));
        try
        {
            EngineBuilder.InferShapes(_network, _network.Layers, probe.Layers, probe.Shapes);
            probe.Layers = _network.Layers.Count;
        }
        catch (Exception e) when (e is ShapeException or OverflowException)
        {
            probe.Failure = e;
            throw;
        }
        return probe.Shapes;
    }

    /// <summary>A shape probe's shapes so far: those of the first <see cref="Layers"/> layers' outputs, or the failure that ended them.</summary>
    private sealed class ProbeShapes
    {
        public required int[][] Shapes;
        public int Layers;
        public Exception? Failure;
    }

    private static int[] Probe(int[] dims, int size) => dims.Select(d => d == Shapes.Dynamic ? size : d).ToArray();

    /// <summary>Element <paramref name="index"/> of a 1-D integer value, or its only element (broadcast).</summary>
    private long Element(string value, long index, string user)
    {
        long[] values = Integer(value, user).Values;
        return values.Length == 1 ? values[0] : index < values.Length ? values[index] : IntegerTensor.Unknown;
    }
}
