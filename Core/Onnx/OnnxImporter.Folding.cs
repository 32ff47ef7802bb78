using TrtEngine.Native.Kernels;
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
        "Add" or "Sub" or "Mul" or "Div" or "MatMul" => IsWeightValue(node.Inputs[0]) && IsWeightValue(node.Inputs[1]),
        "Transpose" or "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze" => IsWeightValue(node.Inputs[0]),
        "Concat" => node.Inputs.Where(i => i.Length > 0).All(IsWeightValue),
        _ => false,
    };

    private bool IsWeightValue(string valueName) =>
        _values.TryGetValue(valueName, out var v) ? v.IsWeight
        : _bound.ContainsKey(valueName) || (_initializers.TryGetValue(valueName, out var t) && IsFloat(t.DataType));

    private void FoldWeights(OnnxNode node, string name)
    {
        string[] data = node.OpType switch
        {
            "Add" or "Sub" or "Mul" or "Div" or "MatMul" => [node.Inputs[0], node.Inputs[1]],
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
            "MatMul" => (FoldedOpKind.MatMul, [], x),
            "Transpose" => (FoldedOpKind.Transpose, node.GetInts("perm") is { } p ? p.Select(v => (int)v).ToArray() : Enumerable.Range(0, x.Length).Reverse().ToArray(), x),
            "Concat" => (FoldedOpKind.Concat, [Shapes.NormalizeAxis((int)node.GetInt("axis", 0), x.Length, $"Concat '{name}'")], x),
            "Reshape" => (FoldedOpKind.Copy, [], ShapeInference.Reshape(x, ReshapeTarget(node), node.GetInt("allowzero", 0) != 0)),
            "Flatten" => (FoldedOpKind.Copy, [], ShapeInference.Flatten(x, (int)node.GetInt("axis", 1))),
            _ => (FoldedOpKind.Copy, [], Squeezed(node, name, x).Select(o => o < 0 ? 1 : x[o]).ToArray()),
        };
        int[] shape;
        try
        {
            shape = FoldedOp.InferShape(kind, shapes, ints, copyShape);
        }
        catch (ShapeException e)
        {
            throw new ModelImportException($"{node.OpType} '{name}' on weights: {e.Message}");
        }
        string output = node.Outputs[0];
        var op = new FoldedOp(kind, inputs.Select(w => w.Name).ToArray(), shapes, output, shape, ints);
        float[] values = op.Evaluate(inputs.Select(w => w.Values).ToArray());
        _values[output] = inputs.All(w => w.Kind == WeightKind.Constant)
            ? _network.AddWeights(new ModelWeights(output, shape, values, WeightKind.Constant))
            : _network.AddComputedWeights(op, values);
    }
}
