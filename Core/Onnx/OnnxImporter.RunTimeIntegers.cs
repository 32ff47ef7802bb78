using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Integers known only at run time: int64, int32 and bool graph inputs (token ids, attention masks), which the engine
/// carries as exact floats (integers up to 2^24 in magnitude, checked as they are given). They index embedding tables
/// (Gather of a weight at run-time indices), are compared and masked, moved (Reshape, Unsqueeze, Slice, Concat…),
/// added, subtracted, multiplied and reduced by sums and maxima, all of which floats compute exactly on such values,
/// cast to float, and given as outputs of their type. Integer division is refused; constants beside them become float
/// constants.
/// </summary>
public sealed partial class OnnxImporter
{
    /// <summary>
    /// Values computed at run time that are integers, or booleans, in the model: tracked so that what floats would
    /// compute differently (a division, a cast of a fraction) is refused or cast exactly.
    /// </summary>
    private readonly HashSet<string> _runTimeIntegers = new(StringComparer.Ordinal), _runTimeBooleans = new(StringComparer.Ordinal);

    /// <summary>The largest integer every smaller one of which a float32 holds exactly.</summary>
    private const long ExactFloatLimit = 1 << 24;

    /// <summary>Operators whose output has their data input's type (for Where, its values').</summary>
    private static readonly HashSet<string> Moves =
        ["Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Concat", "Split", "Expand", "Tile", "Gather", "GatherElements", "Where",
         "Pad", "DepthToSpace", "SpaceToDepth"];

    /// <summary>
    /// Integer arithmetic floats compute exactly (on integers up to 2^24), whose outputs stay integers: a division after
    /// them must still be refused (Clip, Pad, Pow, Relu and Sign once let an integer through as a float, and a Div
    /// after them did not truncate).
    /// </summary>
    private static readonly HashSet<string> ExactArithmetic =
        ["Add", "Sub", "Mul", "Max", "Min", "Neg", "Abs", "ReduceSum", "ReduceMax", "ReduceSumSquare", "CumSum", "Clip", "Relu", "Sign", "Sum", "Pow", "MatMul"];

    /// <summary>Operators whose output is an integer tensor whatever their input (indices).</summary>
    private static readonly HashSet<string> MakesIntegers = ["ArgMax", "ArgMin"];

    private static readonly HashSet<string> MakesBooleans = ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"];

    private static ElementType RunTimeInputType(OnnxValueInfo input) => input.ElementType switch
    {
        OnnxDataType.Float => ElementType.Float32,
        OnnxDataType.Int64 => ElementType.Int64,
        OnnxDataType.Int32 => ElementType.Int32,
        OnnxDataType.Bool => ElementType.Bool,
        _ => throw new ModelImportException($"Input '{input.Name}' is {input.ElementType}; TrtEngine takes float32, int64, int32 and bool inputs."),
    };

    /// <summary>After a node is imported: which of its run-time outputs are integers or booleans.</summary>
    private void TrackRunTimeTypes(OnnxNode node)
    {
        if (node.Inputs.Count == 0 || !node.Outputs.Any(o => o.Length > 0 && _values.TryGetValue(o, out var v) && !v.IsWeight)) return;
        var data = node.OpType switch { "Where" => node.Inputs.Skip(1), "Concat" => node.Inputs, _ => node.Inputs.Take(1) };
        // An integer known at import beside run-time values (a Where's fill, a class token's id) makes them integers too.
        bool integer = Moves.Contains(node.OpType) ? data.Any(v => _runTimeIntegers.Contains(v) || IsInteger(v))
            // A power has its base's type; the others' operands are all of one type.
            : ExactArithmetic.Contains(node.OpType) ? (node.OpType == "Pow" ? node.Inputs.Take(1) : node.Inputs).Any(_runTimeIntegers.Contains)
            : MakesIntegers.Contains(node.OpType) || node.OpType == "Cast" && IsIntegerType((OnnxDataType)node.GetInt("to", 0));
        bool boolean = Moves.Contains(node.OpType) ? data.Any(v => _runTimeBooleans.Contains(v) || _initializers.TryGetValue(v, out var t) && t.DataType == OnnxDataType.Bool)
            : MakesBooleans.Contains(node.OpType) || node.OpType == "Cast" && node.GetInt("to", 0) == (long)OnnxDataType.Bool;
        foreach (string output in node.Outputs.Where(o => o.Length > 0))
        {
            if (integer) _runTimeIntegers.Add(output);
            if (boolean) _runTimeBooleans.Add(output);
        }
    }

    private static bool IsIntegerType(OnnxDataType type) => type is OnnxDataType.Int64 or OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.Int8
        or OnnxDataType.UInt64 or OnnxDataType.UInt32 or OnnxDataType.UInt16 or OnnxDataType.UInt8;

    /// <summary>
    /// An operand of arithmetic, a comparison or a Where: a float value, or an integer known at import (beside a
    /// run-time integer) as a float constant, which must hold it exactly.
    /// </summary>
    private ValueRef Numeric(OnnxNode node, int index, string name)
    {
        string input = node.Inputs[index];
        if (!IsInteger(input)) return Float(input, name);
        var known = Integer(input, name);
        if (!known.IsKnown) throw Dynamic(node, name, input);
        if (known.Values.FirstOrDefault(v => Math.Abs(v) > ExactFloatLimit) is var far && far != 0)
            throw new ModelImportException($"{node.OpType} '{name}': its integer operand '{input}' holds {far}, which float32 does not hold exactly; TrtEngine computes run-time integers as floats (up to 2^24).");
        return _network.AddWeights(new ModelWeights($"{name}/{input}", known.Dims, Array.ConvertAll(known.Values, v => (float)v), WeightKind.Constant));
    }

    /// <summary>Division (and its kin: a mean) of run-time integers truncates, which float division does not: refused.</summary>
    private void RefuseIntegerDivision(OnnxNode node, string name)
    {
        if (node.Inputs.FirstOrDefault(_runTimeIntegers.Contains) is { } integer)
            throw new ModelImportException($"{node.OpType} '{name}' divides '{integer}', an integer tensor computed at run time; TrtEngine computes those as floats and does not truncate. Cast it to float in the model before dividing.");
    }

    /// <summary>
    /// A power of a run-time integer is an integer: exact in floats for whole exponents of 0 or more known at import;
    /// any other exponent (a fraction, a negative one) truncates in integers, which floats do not: refused.
    /// </summary>
    private void RefuseInexactIntegerPower(OnnxNode node, string name)
    {
        if (!_runTimeIntegers.Contains(node.Inputs[0])) return;
        if (!IsInteger(node.Inputs[1]) || Integer(node.Inputs[1], name) is not { IsKnown: true } exponent || exponent.Values.Any(v => v < 0))
            throw new ModelImportException($"Pow '{name}' raises '{node.Inputs[0]}', an integer tensor computed at run time, to a power that is not a whole number of 0 or more known at import; TrtEngine computes those as floats and does not truncate. Cast it to float in the model first.");
    }

    /// <summary>
    /// Gather at indices computed at run time: a weight's rows (an embedding), a constant integer table's (as float
    /// constants), or a run-time tensor's.
    /// </summary>
    private Layer RunTimeGather(OnnxNode node, string name)
    {
        var data = Numeric(node, 0, name);
        int rank = _network.Dims(data).Length;
        int axis = Shapes.NormalizeAxis(checked((int)node.GetInt("axis", 0)), rank, "Gather", name);
        return new GatherLayer(name, data, Tensor(node.Inputs[1], name), axis);
    }

    /// <summary>
    /// GatherND (batch_dims 0) in the operators the engine runs: each index tuple made one index into the data's first k
    /// dims viewed as one (each component checked and counted from the end where negative), and the data, viewed as
    /// [rows, …], gathered at it. Last-token pooling (x[arange(B), lengths − 1]) is written so by
    /// torch's dynamo-based exporter. Dims after the first of the k, and those the tuples do not index, must be known.
    /// </summary>
    private void ImportGatherND(OnnxNode node, string name)
    {
        if (node.GetInt("batch_dims", 0) is var batchDims and not 0)
            throw new ModelImportException($"GatherND '{name}': batch_dims {batchDims} is not supported; TrtEngine gathers with batch_dims 0.");
        string output = node.Outputs[0], indices = node.Inputs[1];
        int[] dims = _network.Dims(Numeric(node, 0, name));
        int[] indexDims = IsInteger(indices) ? Integer(indices, name).Dims : _network.Dims(Tensor(indices, name));
        int k = indexDims.Length == 0 ? -1 : indexDims[^1];
        if (k < 1 || k > dims.Length)
            throw new ModelImportException($"GatherND '{name}': its indices {Shapes.Format(indexDims)} must end in a known count from 1 to the data's rank {dims.Length}.");
        if (dims.Skip(1).Any(d => d < 0))
            throw new ModelImportException($"GatherND '{name}': the data {Shapes.Format(dims)} has a dim known only at run time after its first; TrtEngine needs those known.");
        string Constant(string what, long value)
        {
            string constant = $"{output}/{what}";
            _integers[constant] = new IntegerTensor([], [value]);
            return constant;
        }
        string? flat = null;
        for (int j = 0; j < k; j++)
        {
            string component = Emit(node, "Gather", [indices, Constant($"at{j}", j)], $"{output}/index{j}", ("axis", [indexDims.Length - 1]));
            // Looked up in 0 … dim − 1: a negative component counts from the end and one out of range is refused, as
            // the Gather below does for the first (a flat index cannot tell that [0, 5] of a [3, 4] is out of range).
            if (j > 0)
            {
                _integers[$"{output}/range{j}"] = IntegerTensor.Vector([.. Enumerable.Range(0, dims[j]).Select(i => (long)i)]);
                component = Emit(node, "Gather", [$"{output}/range{j}", component], $"{output}/normalized{j}", ("axis", [0]));
            }
            long stride = dims.Skip(j + 1).Take(k - j - 1).Aggregate(1L, (n, d) => n * d);
            string term = stride == 1 ? component : Emit(node, "Mul", [component, Constant($"stride{j}", stride)], $"{output}/term{j}");
            flat = flat is null ? term : Emit(node, "Add", [flat, term], $"{output}/sum{j}");
        }
        _integers[$"{output}/rows"] = IntegerTensor.Vector([-1, .. dims.Skip(k).Select(d => (long)d)]);
        string rows = Emit(node, "Reshape", [node.Inputs[0], $"{output}/rows"], $"{output}/data_rows");
        // Indices known at import are gathered as a vector (as a Gather of them takes them) and the result given their shape.
        if (IsInteger(flat!) && indexDims.Length > 2)
        {
            _integers[$"{output}/flat_shape"] = IntegerTensor.Vector([-1]);
            _integers[$"{output}/shape"] = IntegerTensor.Vector([.. indexDims[..^1].Select(d => (long)d), .. dims.Skip(k).Select(d => (long)d)]);
            string vector = Emit(node, "Reshape", [flat!, $"{output}/flat_shape"], $"{output}/flat");
            Emit(node, "Reshape", [Emit(node, "Gather", [rows, vector], $"{output}/gathered", ("axis", [0])), $"{output}/shape"], output);
        }
        else Emit(node, "Gather", [rows, flat!], output, ("axis", [0]));
    }

    /// <summary>
    /// TopK: the indices of the k largest (smallest) values along the axis, sorted (ties by index), and the values
    /// gathered at them; k known at import.
    /// </summary>
    private void ImportTopK(OnnxNode node, string name)
    {
        var x = Tensor(node.Inputs[0], name);
        int axis = checked((int)node.GetInt("axis", -1));
        long k = (Opset < 10 ? [node.GetInt("k", 0)] : KnownIntegers(node, 1, "K"))[0];
        if (k < 1 || k > int.MaxValue) throw new ModelImportException($"TopK '{name}': k = {k} is not a positive count.");
        var operation = node.GetInt("largest", 1) != 0 ? AxisOperation.TopKLargest : AxisOperation.TopKSmallest;
        string values = node.Outputs[0], indices = node.Outputs.Count > 1 && node.Outputs[1].Length > 0 ? node.Outputs[1] : $"{values}/indices";
        var picked = _values[indices] = _network.AddLayer(new AxisLayer($"{name}/indices", x, operation, axis, keepDims: true, last: false, exclusive: false, checked((int)k)), indices);
        _runTimeIntegers.Add(indices);
        if (values.Length > 0) _values[values] = _network.AddLayer(new GatherElementsLayer(name, x, picked, axis), values);
    }

    /// <summary>
    /// A graph output's element type: an integer or bool one as the model declares it (its values exact floats), where
    /// it is computed at run time as one.
    /// </summary>
    private ElementType OutputType(OnnxValueInfo output) =>
        !_runTimeIntegers.Contains(output.Name) && !_runTimeBooleans.Contains(output.Name) ? ElementType.Float32
        : output.ElementType == OnnxDataType.Bool || _runTimeBooleans.Contains(output.Name) && !IsIntegerType(output.ElementType) ? ElementType.Bool
        : output.ElementType == OnnxDataType.Int32 ? ElementType.Int32 : ElementType.Int64;
}
