using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Constant folding of float subgraphs: an operation whose data inputs are all weights runs at import. On constants
/// alone its result is another constant; when a trained parameter feeds it, the result is a computed weight whose
/// operation the engine keeps and re-runs at every refit.
/// </summary>
public sealed partial class OnnxImporter
{
    private bool FoldsAsWeights(OnnxNode node) => node.OpType switch
    {
        "Add" or "Sub" or "Mul" or "Div" or "MatMul" or "Pow" => IsWeightValue(node.Inputs[0]) && IsWeightValue(node.Inputs[1]),
        "Max" or "Min" => node.Inputs.Count == 2 && IsWeightValue(node.Inputs[0]) && IsWeightValue(node.Inputs[1]),
        "Transpose" or "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze" or "Slice" or "Split" or "Floor" or "Ceil" or "Round" or "Sqrt"
            or "Sin" or "Cos" or "Exp" or "Neg" or "Reciprocal" => IsWeightValue(node.Inputs[0]),
        "Gather" => IsWeightValue(node.Inputs[0]) && IsInteger(node.Inputs[1]),
        "Expand" => IsWeightValue(node.Inputs[0]) && !ExpandsToRunTimeDims(node),
        "Concat" => node.Inputs.Where(i => i.Length > 0).All(IsWeightValue),
        _ => false,
    };

    private bool IsWeightValue(string valueName) =>
        _values.TryGetValue(valueName, out var v) ? v.IsWeight
        : _bound.ContainsKey(valueName) || (_initializers.TryGetValue(valueName, out var t) && IsFloat(t.DataType));

    private void FoldWeights(OnnxNode node, string name)
    {
        if (node.OpType is "Slice" or "Split" or "Gather")
        {
            FoldSlices(node, name);
            return;
        }
        if (node.OpType is "Floor" or "Ceil" or "Round" or "Sqrt" or "Sin" or "Cos" or "Exp" or "Neg" or "Reciprocal")
        {
            FoldUnary(node, name);
            return;
        }
        if (node.OpType == "Expand")
        {
            var source = _network.Weights[Float(node.Inputs[0], name).Index];
            AddFolded(node, name, FoldedOpKind.Binary, [source, _network.Weights[Ones(node, name).Index]], [(int)BinaryOp.Mul], source.Shape, node.Outputs[0]);
            return;
        }
        string[] data = node.OpType switch
        {
            "Add" or "Sub" or "Mul" or "Div" or "MatMul" or "Pow" or "Max" or "Min" => [node.Inputs[0], node.Inputs[1]],
            "Concat" => node.Inputs.Where(i => i.Length > 0).ToArray(),
            _ => [node.Inputs[0]],
        };
        var inputs = data.Select(i => _network.Weights[Float(i, name).Index]).ToArray();
        int[][] shapes = inputs.Select(w => w.Shape).ToArray();
        int[] x = shapes[0];
        var (kind, ints, copyShape) = node.OpType switch
        {
            "Add" => (FoldedOpKind.Binary, new[] { (int)BinaryOp.Add }, x),
            "Sub" => (FoldedOpKind.Binary, [(int)BinaryOp.Sub], x),
            "Mul" => (FoldedOpKind.Binary, [(int)BinaryOp.Mul], x),
            "Div" => (FoldedOpKind.Binary, [(int)BinaryOp.Div], x),
            "Pow" => (FoldedOpKind.Binary, [(int)BinaryOp.Pow], x),
            "Max" => (FoldedOpKind.Binary, [(int)BinaryOp.Max], x),
            "Min" => (FoldedOpKind.Binary, [(int)BinaryOp.Min], x),
            "MatMul" => (FoldedOpKind.MatMul, [], x),
            "Transpose" => (FoldedOpKind.Transpose, node.GetInts("perm") is { } p ? p.Select(v => (int)v).ToArray() : Enumerable.Range(0, x.Length).Reverse().ToArray(), x),
            "Concat" => (FoldedOpKind.Concat, [Shapes.NormalizeAxis(checked((int)node.GetInt("axis", 0)), x.Length, "Concat", name)], x),
            "Reshape" => (FoldedOpKind.Copy, [], ShapeInference.Reshape(x, ReshapeTarget(node), node.GetInt("allowzero", 0) != 0)),
            "Flatten" => (FoldedOpKind.Copy, [], ShapeInference.Flatten(x, FlattenAxis(node, name))),
            _ => (FoldedOpKind.Copy, [], Squeezed(node, name, x).Select(o => o < 0 ? 1 : x[o]).ToArray()),
        };
        AddFolded(node, name, kind, inputs, ints, copyShape, node.Outputs[0]);
    }

    /// <summary>The weight an operation on weights computes: a constant if its inputs are, else a computed weight a refit re-runs.</summary>
    private void AddFolded(OnnxNode node, string name, FoldedOpKind kind, ModelWeights[] inputs, int[] ints, int[] copyShape, string output)
    {
        int[][] shapes = inputs.Select(w => w.Shape).ToArray();
        int[] shape;
        try
        {
            shape = FoldedOp.InferShape(kind, shapes, ints, copyShape);
        }
        catch (ShapeException e)
        {
            throw new ModelImportException($"{node.OpType} '{name}' on weights: {e.Message}");
        }
        var op = new FoldedOp(kind, inputs.Select(w => w.Name).ToArray(), shapes, output, shape, ints);
        // A computed weight into the parameters' arrays, if a build reads it: a read for a refit or a cache hit never
        // does, and hands back those it did (WeightSources.HandBackComputed).
        _values[output] = inputs.All(w => w.Kind == WeightKind.Constant)
            ? _network.AddWeights(new ModelWeights(output, shape, op.Evaluate(inputs.Select(w => w.Values).ToArray(), _allocateParameter), WeightKind.Constant))
            : _network.AddComputedWeights(op, _allocateParameter);
    }

    /// <summary>
    /// Ones of an Expand's shape: Expand is a multiplication by them, which broadcasts as Expand does and is exact (NaN,
    /// infinities and −0 included).
    /// </summary>
    private ValueRef Ones(OnnxNode node, string name)
    {
        int[] dims = ToShape(KnownIntegers(node, 1, "shape"), node.Outputs[0]);
        long count = IntegerOps.CheckedCount(node.OpType, name, dims, 1 << 22);
        return _network.AddWeights(new ModelWeights(node.Outputs[0] + "/ones", dims, Enumerable.Repeat(1f, (int)count).ToArray(), WeightKind.Constant));
    }

    /// <summary>
    /// Floor, Ceil, Round and Sqrt of a constant, as shape arithmetic through floats writes them (an output size floor(H · 1.5),
    /// attention's scale 1/√(head size)).
    /// Their results become shapes, so a trained weight, which a refit may change, cannot feed them.
    /// </summary>
    private void FoldUnary(OnnxNode node, string name)
    {
        var x = _network.Weights[Float(node.Inputs[0], name).Index];
        if (x.Kind != WeightKind.Constant)
            throw new ModelImportException($"{node.OpType} '{name}': its input '{node.Inputs[0]}' is a trained weight or computed from one; TrtEngine evaluates {node.OpType} only at import, on constants and static dims (shape arithmetic).");
        // As the engine's activations compute them (MathF.Round rounds halves to even, as ONNX Round does), so a
        // sinusoidal position table folded here is the one a run-time Sin would give.
        var kind = node.OpType switch
        {
            "Floor" => ActivationKind.Floor, "Ceil" => ActivationKind.Ceil, "Sqrt" => ActivationKind.Sqrt, "Round" => ActivationKind.Round,
            "Sin" => ActivationKind.Sin, "Cos" => ActivationKind.Cos, "Exp" => ActivationKind.Exp, "Neg" => ActivationKind.Neg, _ => ActivationKind.Reciprocal,
        };
        var activation = new Activation(kind);
        string output = node.Outputs[0];
        _values[output] = _network.AddWeights(new ModelWeights(output, x.Shape, Array.ConvertAll(x.Values, v => ScalarMath.Apply(activation, v)), WeightKind.Constant));
    }

    /// <summary>
    /// Slice, Split and Gather of a weight (a fused parameter cut into parts, such as attention's q, k and v
    /// projections): each output is a strided slice of it, kept as a computed weight a refit re-runs.
    /// </summary>
    private void FoldSlices(OnnxNode node, string name)
    {
        var source = _network.Weights[Float(node.Inputs[0], name).Index];
        int[] x = source.Shape;
        int rank = x.Length;
        // Each output's start, step and count per axis, and its shape.
        var outputs = new List<(string Output, long[] Starts, long[] Steps, long[] Counts, int[] Shape)>();
        (long[] Starts, long[] Steps, long[] Counts) Whole() => (new long[rank], Enumerable.Repeat(1L, rank).ToArray(), x.Select(d => (long)d).ToArray());
        switch (node.OpType)
        {
            case "Slice":
            {
                var (starts, ends, axes, steps) = SliceParameters(node);
                var (first, step, count) = Whole();
                var seen = new bool[rank];
                for (int i = 0; i < axes.Length; i++)
                {
                    int axis = IntegerOps.Axis(axes[i], rank, name);
                    if (steps[i] == 0 || seen[axis]) throw new ModelImportException($"Slice '{name}': a step of 0, or axis {axes[i]} given twice.");
                    seen[axis] = true;
                    (first[axis], count[axis]) = SliceLayer.Range(starts[i], ends[i], steps[i], x[axis]);
                    // Two elements or more lie within the axis, so the step fits it; with one or none it does not matter.
                    step[axis] = count[axis] > 1 ? steps[i] : 1;
                }
                outputs.Add((node.Outputs[0], first, step, count, count.Select(c => (int)c).ToArray()));
                break;
            }
            case "Split":
            {
                int axis = IntegerOps.Axis(node.GetInt("axis", 0), rank, name);
                long at = 0;
                var sizes = SplitSizes(node, name, x[axis]);
                for (int i = 0; i < sizes.Length; i++)
                {
                    if (node.Outputs[i].Length > 0)
                    {
                        var (first, step, count) = Whole();
                        (first[axis], count[axis]) = (at, sizes[i]);
                        outputs.Add((node.Outputs[i], first, step, count, count.Select(c => (int)c).ToArray()));
                    }
                    at += sizes[i];
                }
                break;
            }
            default:
            {
                int axis = IntegerOps.Axis(node.GetInt("axis", 0), rank, name);
                var indices = Integer(node.Inputs[1], name);
                long[] at = indices.IsKnown ? indices.Values.Select(i => i < 0 ? i + x[axis] : i).ToArray() : [];
                long step = at.Length > 1 ? at[1] - at[0] : 1;
                if (!indices.IsKnown || at.Length == 0 || at.Any(i => i < 0 || i >= x[axis]) ||
                    at.Where((i, n) => i != at[0] + n * step).Any() || step == 0)
                    throw new ModelImportException($"Gather '{name}' on weights: TrtEngine folds indices known at import that are evenly spaced (a scalar, or a range), not [{string.Join(", ", indices.Values)}] of shape {Shapes.Format(indices.Dims)}.");
                var (first, steps, count) = Whole();
                (first[axis], steps[axis], count[axis]) = (at[0], step, at.Length);
                int[] shape = count.Select(c => (int)c).ToArray();
                // The indices' dims take the axis's place: none for a scalar, [1, n] for positions sliced from a buffer [1, 512].
                outputs.Add((node.Outputs[0], first, steps, count, [.. shape[..axis], .. indices.Dims, .. shape[(axis + 1)..]]));
                break;
            }
        }
        foreach (var (output, starts, steps, counts, shape) in outputs)
            AddFolded(node, name, FoldedOpKind.Slice, [source], [.. starts.Select(v => (int)v), .. steps.Select(v => (int)v), .. counts.Select(v => (int)v)], shape, output);
    }
}
