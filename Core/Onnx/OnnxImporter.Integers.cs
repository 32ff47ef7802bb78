using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>Integer structure: shape subgraphs folded at import, and the constant operands of float operators.</summary>
public sealed partial class OnnxImporter
{
    /// <summary>True when the operands that decide the result type are integer tensors (so the node is shape arithmetic).</summary>
    private bool FoldsAsIntegers(OnnxNode node) => node.OpType switch
    {
        "Add" or "Sub" or "Mul" or "Div" or "Mod" or "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual" or "And" or "Or" or "Xor" or "Concat" =>
            node.Inputs.All(IsInteger),
        "Where" => node.Inputs.All(IsInteger),
        "Gather" => IsInteger(node.Inputs[0]) && IsInteger(node.Inputs[1]),
        _ => IsInteger(node.Inputs[0]),
    };

    private void FoldIntegers(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        switch (node.OpType)
        {
            case "Shape": _integers[output] = ShapeOf(node, name); return;
            case "ConstantOfShape":
            {
                var value = node.GetTensor("value");
                if (value is not null && value.ElementCount != 1)
                    throw new ModelImportException($"ConstantOfShape '{name}': its value holds {value.ElementCount} elements; it must hold one.");
                if ((value is null || IsFloat(value.DataType)) && Has(node, 0) && IsInteger(node.Inputs[0]) && !Integer(node.Inputs[0], name).IsKnown)
                {
                    ImportRunTimeConstantOfShape(node, name, value?.ToSingleArray()[0] ?? 0f);
                    return;
                }
                long[] shape = KnownIntegers(node, 0, "shape");
                int[] dims = ToShape(shape, output);
                if (value is null || IsFloat(value.DataType))
                {
                    // A float constant may be a real tensor (zeros the size of an activation); integers are shape arithmetic.
                    long floats = IntegerOps.CheckedCount(node.OpType, name, dims, 1 << 22);
                    float fill = value?.ToSingleArray()[0] ?? 0f;
                    _values[output] = _network.AddWeights(new ModelWeights(output, dims, Enumerable.Repeat(fill, (int)floats).ToArray(), WeightKind.Constant));
                }
                else
                {
                    long count = IntegerOps.CheckedCount(node.OpType, name, dims, IntegerOps.MaxElements);
                    _integers[output] = new IntegerTensor(dims, Enumerable.Repeat(value.ToInt64Array()[0], (int)count).ToArray());
                }
                return;
            }
            case "Identity": _integers[output] = Integer(node.Inputs[0], name); return;
            case "Cast":
            {
                var x = Integer(node.Inputs[0], name);
                var to = (OnnxDataType)node.GetInt("to", (long)OnnxDataType.Int64);
                if (IsFloat(to))
                {
                    if (!x.IsKnown) throw Dynamic(node, name, node.Inputs[0]);
                    _values[output] = _network.AddWeights(new ModelWeights(output, x.Dims, x.Values.Select(v => (float)v).ToArray(), WeightKind.Constant));
                }
                else _integers[output] = to == OnnxDataType.Bool ? x with { Values = x.Values.Select(v => v is 0 or IntegerTensor.Unknown ? v : 1).ToArray() } : x;
                return;
            }
            case "Reshape":
            {
                var x = Integer(node.Inputs[0], name);
                int[] dims = ShapeInference.Reshape(x.Dims, KnownIntegers(node, 1, "shape"), node.GetInt("allowzero", 0) != 0);
                _integers[output] = x with { Dims = dims };
                return;
            }
            case "Gather": _integers[output] = IntegerOps.Gather(Integer(node.Inputs[0], name), Integer(node.Inputs[1], name), node.GetInt("axis", 0), name); return;
            case "Concat":
                _integers[output] = IntegerOps.Concat(node.Inputs.Select(i => Integer(i, name)).ToList(), node.GetInt("axis", 0), name);
                return;
            case "Unsqueeze" or "Squeeze":
            {
                var x = Integer(node.Inputs[0], name);
                _integers[output] = x with { Dims = Squeezed(node, name, x.Dims).Select(o => o < 0 ? 1 : x.Dims[o]).ToArray() };
                return;
            }
            case "Slice":
            {
                var (starts, ends, axes, steps) = SliceParameters(node);
                var x = Integer(node.Inputs[0], name);
                if (axes.Length != 1)
                    throw new ModelImportException($"Slice '{name}': integer tensors are sliced at import along one axis at a time.");
                int axis = IntegerOps.Axis(axes[0], Math.Max(1, x.Dims.Length), name);
                if (x.Dims.Length <= 1)
                {
                    _integers[output] = IntegerOps.Slice(x, starts[0], ends[0], steps[0], name);
                    return;
                }
                // Along one axis of a larger constant (a position_ids buffer [1, 512] cut to the tokens): the positions
                // that slicing the axis keeps, taken from every run across it.
                int length = x.Dims[axis];
                long inner = x.Dims.Skip(axis + 1).Aggregate(1L, (p, d) => p * d), outer = x.Values.LongLength / Math.Max(1, length * inner);
                long[] kept = IntegerOps.Slice(IntegerTensor.Vector([.. Enumerable.Range(0, length).Select(i => (long)i)]), starts[0], ends[0], steps[0], name).Values;
                var values = new long[outer * kept.Length * inner];
                for (long o = 0, at = 0; o < outer; o++)
                    foreach (long k in kept)
                        for (long i = 0; i < inner; i++) values[at++] = x.Values[(o * length + k) * inner + i];
                int[] dims = (int[])x.Dims.Clone();
                dims[axis] = kept.Length;
                _integers[output] = new IntegerTensor(dims, values);
                return;
            }
            case "ReduceProd":
            {
                // torch's x.var() and x.std() count the reduced elements so: the product of a few dims.
                var x = Integer(node.Inputs[0], name);
                long[]? axes = ReduceAxes(node, 18);
                if (x.Dims.Length > 1 || axes?.Any(axis => IntegerOps.Axis(axis, Math.Max(1, x.Dims.Length), name) != 0) == true)
                    throw new ModelImportException($"ReduceProd '{name}': integer tensors are reduced at import over their only axis, not {Shapes.Format(x.Dims)} over [{string.Join(", ", axes ?? [])}].");
                long product = x.Values.Contains(IntegerTensor.Unknown) ? IntegerTensor.Unknown : x.Values.Aggregate(1L, (p, v) => checked(p * v));
                _integers[output] = new IntegerTensor(node.GetInt("keepdims", 1) != 0 && x.Dims.Length == 1 ? [1] : [], [product]);
                return;
            }
            case "Range" when IsRunTimeArange(node):
                ImportRunTimeArange(node, name);
                return;
            case "Range":
            {
                // torch.arange of static sizes (positions, masks built against them).
                long start = KnownIntegers(node, 0, "start")[0], limit = KnownIntegers(node, 1, "limit")[0], delta = KnownIntegers(node, 2, "delta")[0];
                if (delta == 0) throw new ModelImportException($"Range '{name}' has a delta of 0.");
                long count = Math.Max(0, checked(limit - start + delta + (delta > 0 ? -1 : 1)) / delta);
                long[] values = new long[IntegerOps.CheckedCount(node.OpType, name, [(int)Math.Min(count, int.MaxValue)], IntegerOps.MaxElements)];
                for (long i = 0; i < values.LongLength; i++) values[i] = start + i * delta;
                _integers[output] = IntegerTensor.Vector(values);
                return;
            }
            case "Not":
            {
                var x = Integer(node.Inputs[0], name);
                _integers[output] = x with { Values = x.Values.Select(v => v == IntegerTensor.Unknown ? v : v == 0 ? 1 : 0).ToArray() };
                return;
            }
            case "Where":
                _integers[output] = IntegerOps.Where(Integer(node.Inputs[0], name), Integer(node.Inputs[1], name), Integer(node.Inputs[2], name), name);
                return;
            default:
                // Integer Mod takes the divisor's sign (Python's %) unless fmod = 1 asks for C's (the dividend's).
                string op = node.OpType == "Mod" && node.GetInt("fmod", 0) != 0 ? "FMod" : node.OpType;
                _integers[output] = IntegerOps.Binary(op, Integer(node.Inputs[0], name), Integer(node.Inputs[1], name), name);
                return;
        }
    }

    /// <summary>Shape (with opset-15 start/end): static dims are known, dynamic ones <see cref="IntegerTensor.Unknown"/>.</summary>
    private IntegerTensor ShapeOf(OnnxNode node, string name)
    {
        string input = node.Inputs[0];
        int[] dims = IsInteger(input) ? Integer(input, name).Dims : _network.Dims(Float(input, name));
        int rank = dims.Length;
        long start = node.GetInt("start", 0), end = node.GetInt("end", rank);
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, start, rank);
        return IntegerTensor.Vector(dims[(int)start..(int)end].Select(d => d < 0 ? IntegerTensor.Unknown : (long)d).ToArray());
    }

    private bool IsInteger(string valueName) =>
        valueName.Length > 0 && (_integers.ContainsKey(valueName) ||
        (!_bound.ContainsKey(valueName) && _initializers.TryGetValue(valueName, out var t) && !IsFloat(t.DataType)));

    /// <summary>
    /// Cast of float constants to an integer type: shape arithmetic through floats (an output size Cast(H) · 1.5), folded
    /// as ONNX Runtime computes it.
    /// </summary>
    private void CastToIntegers(OnnxNode node, string name, OnnxDataType to)
    {
        string input = node.Inputs[0];
        if (!IsWeightValue(input))
            throw new ModelImportException($"Cast '{name}' turns '{input}', a float tensor computed at run time, into {to}; TrtEngine computes integers only at import, from constants and static dims.");
        float[] values = ConstantFloats(node, 0);
        _integers[node.Outputs[0]] = IntegerOps.FromFloats(_network.Dims(_values[input]), values, to, name);
    }

    private IntegerTensor Integer(string valueName, string user)
    {
        if (_integers.TryGetValue(valueName, out var t)) return t;
        if (IsInteger(valueName))
        {
            var init = _initializers[valueName];
            return _integers[valueName] = new IntegerTensor(ToShape(init.Dims, valueName), init.ToInt64Array());
        }
        throw new ModelImportException($"{user}: '{valueName}' is not an integer tensor known at import (it is computed at run time or is a float tensor).");
    }

    private static bool Has(OnnxNode node, int index) => node.Inputs.Count > index && node.Inputs[index].Length > 0;

    /// <summary>An integer operand every element of which is known at import.</summary>
    private long[] KnownIntegers(OnnxNode node, int index, string what)
    {
        string name = NodeName(node);
        if (!Has(node, index)) throw new ModelImportException($"{node.OpType} '{name}' lacks its input {index} ({what}).");
        string input = node.Inputs[index];
        if (!IsInteger(input)) throw RunTime(node, name, input);
        var t = Integer(input, name);
        if (!t.IsKnown) throw Dynamic(node, name, input);
        return t.Values;
    }

    /// <summary>
    /// A Reshape target. An element known only at run time that is the data's own dim on the same axis (x.view(
    /// x.size(0), -1), or a batch read from the model's input at the top of forward: B = x.shape[0] … y.view(B, -1))
    /// becomes 0, which copies that dim; one other such element (a dynamic batch read through Shape, as in a channel
    /// shuffle) becomes -1: the element count fixes it, and a valid model gives it exactly that value.
    /// </summary>
    private long[] ReshapeTarget(OnnxNode node) => ReshapeTarget(node, out _);

    /// <summary>
    /// As <see cref="ReshapeTarget(OnnxNode)"/>; a dim only the run time knows that is the data's own at another
    /// position (attention's [batch · heads, length, width] to [batch, heads, length, width]) is copied from there
    /// (<paramref name="sources"/>: each target dim's input dim, −1 for none; null where no dim moves so).
    /// </summary>
    private long[] ReshapeTarget(OnnxNode node, out int[]? sources)
    {
        int[]? copied = null;
        sources = null;
        string name = NodeName(node);
        if (!Has(node, 1) || !IsInteger(node.Inputs[1])) return KnownIntegers(node, 1, "shape");
        long[] values = (long[])Integer(node.Inputs[1], name).Values.Clone();
        bool runTime = _values.TryGetValue(node.Inputs[0], out var data) && !data.IsWeight, allowZero = node.GetInt("allowzero", 0) != 0;
        // allowzero changes only what a 0 means: a target without one reads the same either way.
        bool zeroCopies = !allowZero || !values.Contains(0);
        // The data's own dim at the same position: a 0 copies it, or where 0 is a zero (allowzero, as torch's
        // dynamo-based exporter writes views unoptimized) it is copied from that position.
        if (runTime)
            for (int i = 0; i < values.Length; i++)
                if (values[i] == IntegerTensor.Unknown && DimOrigin(node.Inputs[1], i) is var (tensor, axis) && SameDim(data, i, _values[tensor], axis))
                {
                    if (!allowZero) values[i] = 0;
                    else
                    {
                        copied ??= Enumerable.Repeat(-1, values.Length).ToArray();
                        (copied[i], values[i]) = (i, 1);
                    }
                }
        if (zeroCopies && runTime && values.Count(v => v == IntegerTensor.Unknown) > 1)
        {
            int rank = _network.Dims(data).Length;
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i] != IntegerTensor.Unknown || DimOrigin(node.Inputs[1], i) is not var (tensor, axis)) continue;
                // An input dim not copied already, at another position, that shape probes show is this one.
                int j = Enumerable.Range(0, rank).FirstOrDefault(d => d != i && (d >= values.Length || values[d] != 0) && (copied is null || !copied.Contains(d))
                    && SameDim(data, d, _values[tensor], axis), -1);
                if (j < 0) continue;
                copied ??= Enumerable.Repeat(-1, values.Length).ToArray();
                (copied[i], values[i]) = (j, 1);
            }
        }
        sources = copied;
        int unknown = values.Count(v => v == IntegerTensor.Unknown);
        if (unknown == 0) return values;
        if (unknown == 1 && values.Contains(-1) && runTime && zeroCopies && copied is null && StaticInferredDim(node, data, values) is { } inferred)
            values[Array.IndexOf(values, -1L)] = inferred;
        if (unknown != 1 || values.Contains(-1)) return KnownIntegers(node, 1, "shape");
        return values.Select(v => v == IntegerTensor.Unknown ? -1 : v).ToArray();
    }

    /// <summary>
    /// A Reshape's −1 beside one dim only the run time knows, where that dim is a run-time tensor's (torch's
    /// attn_mask.view(bsz, num_heads, -1, src_len) of a mask [bsz · num_heads, 1, src_len]): the value the −1 takes at
    /// every shape probe, where it is one value, so the dim only the run time knows becomes the −1.
    /// </summary>
    private long? StaticInferredDim(OnnxNode node, ValueRef data, long[] target)
    {
        if (DimOrigin(node.Inputs[1], Array.IndexOf(target, IntegerTensor.Unknown)) is not var (tensor, axis)) return null;
        long? value = null;
        bool holds = Probes().Holds(shapes =>
        {
            int[] dims = shapes[data.Index];
            // The other dims: as given, or (0) copied from the data.
            long divisor = shapes[_values[tensor].Index][axis];
            for (int i = 0; i < target.Length; i++)
                if (target[i] >= 0) divisor = checked(divisor * (target[i] == 0 && i < dims.Length ? dims[i] : target[i]));
            long count = Shapes.ElementCount(dims);
            return divisor != 0 && count % divisor == 0 && (value ??= count / divisor) == count / divisor;
        });
        return holds ? value : null;
    }

    private static ModelImportException RunTime(OnnxNode node, string name, string input) =>
        new($"{node.OpType} '{name}': its input '{input}' is computed at run time; TrtEngine needs it as a constant (export with constant folding).");

    /// <summary>An operand with an element only the run time knows: a dynamic input dim read through Shape.</summary>
    private static ModelImportException Dynamic(OnnxNode node, string name, string input) =>
        new($"{node.OpType} '{name}': its input '{input}' depends on a dynamic input dimension, and TrtEngine needs its value at import. Fix the input's shape when converting (-InputShape), or give the model static input shapes (export it without dynamic axes for the dimensions it reads).");

    /// <summary>An INTS attribute, else the integer input at <paramref name="index"/>, else null.</summary>
    private long[]? AttributeOrInput(OnnxNode node, string attribute, int index) =>
        node.GetInts(attribute) is { } ints ? [.. ints] : Has(node, index) ? KnownIntegers(node, index, attribute) : null;

    /// <summary>
    /// The values of a constant float (or integer) operand, read at import into a layer's parameters. The weight is
    /// marked folded, so refits from the model accept it unchanged; an initializer read this way is a constant.
    /// </summary>
    private float[] ConstantFloats(OnnxNode node, int index)
    {
        string name = NodeName(node), input = node.Inputs[index];
        if (IsInteger(input)) return KnownIntegers(node, index, input).Select(v => (float)v).ToArray();
        // A value bound from a weights file is the same constant (found by a fuzzer: taken as a parameter, which no layer
        // reads, it was no weight of the engine, and a refit from that very file refused it as unknown).
        if (!_values.ContainsKey(input) && _bound.TryGetValue(input, out var bound))
            _values[input] = BoundConstant(bound);
        else if (!_values.ContainsKey(input) && _initializers.TryGetValue(input, out var init) && IsFloat(init.DataType))
            _values[input] = _network.AddWeights(new ModelWeights(input, ToShape(init.Dims, input), init.ToSingleArray(), WeightKind.Constant));
        var v = Float(input, name);
        if (!v.IsWeight) throw RunTime(node, name, input);
        var weight = _network.Weights[v.Index];
        if (weight.Kind == WeightKind.Computed)
            throw new ModelImportException($"{node.OpType} '{name}': its input '{input}' is computed from trained weights; TrtEngine needs a constant here.");
        if (weight.Kind == WeightKind.Constant) _network.MarkFolded(weight.Name);
        return weight.Values;
    }

    private (long[] Starts, long[] Ends, long[] Axes, long[] Steps) SliceParameters(OnnxNode node)
    {
        long[] starts, ends;
        long[]? axes, steps = null;
        if (Opset < 10)
        {
            starts = [.. node.GetInts("starts") ?? []];
            ends = [.. node.GetInts("ends") ?? []];
            axes = node.GetInts("axes") is { } a ? [.. a] : null;
        }
        else
        {
            starts = KnownIntegers(node, 1, "starts");
            ends = KnownIntegers(node, 2, "ends");
            axes = Has(node, 3) ? KnownIntegers(node, 3, "axes") : null;
            steps = Has(node, 4) ? KnownIntegers(node, 4, "steps") : null;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new ModelImportException($"Slice '{NodeName(node)}': starts, ends, axes and steps differ in length.");
        return (starts, ends, axes, steps);
    }

    /// <summary>
    /// For Squeeze and Unsqueeze: each output dim's source input dim, or -1 for an inserted 1.
    /// Axes come from the attribute (before opset 13) or the input.
    /// </summary>
    private int[] Squeezed(OnnxNode node, string name, int[] dims)
    {
        long[]? axes = AttributeOrInput(node, "axes", 1);
        if (node.OpType == "Unsqueeze")
        {
            if (axes is null) throw new ModelImportException($"Unsqueeze '{name}' has no axes.");
            int rank = dims.Length + axes.Length;
            var inserted = axes.Select(a => IntegerOps.Axis(a, rank, name)).ToHashSet();
            if (inserted.Count != axes.Length) throw new ModelImportException($"Unsqueeze '{name}': an axis is repeated.");
            var origins = new int[rank];
            for (int i = 0, next = 0; i < rank; i++) origins[i] = inserted.Contains(i) ? -1 : next++;
            return origins;
        }
        HashSet<int> removed;
        if (axes is null)
        {
            if (!Shapes.IsStatic(dims)) throw new ModelImportException($"Squeeze '{name}': without axes it needs static dims, not {Shapes.Format(dims)}.");
            removed = Enumerable.Range(0, dims.Length).Where(d => dims[d] == 1).ToHashSet();
        }
        else removed = axes.Select(a => IntegerOps.Axis(a, dims.Length, name)).ToHashSet();
        foreach (int d in removed)
            if (dims[d] > 1) throw new ModelImportException($"Squeeze '{name}': dimension {d} of {Shapes.Format(dims)} is not 1.");
        return Enumerable.Range(0, dims.Length).Where(d => !removed.Contains(d)).ToArray();
    }
}
