using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Attention masks built from constants, folded at import: a causal mask as torch exports scaled_dot_product_attention's
/// is_causal (Trilu of ones, compared with 0, a Where between −∞ and 0) becomes one constant the scores are added to.
/// Trilu, the comparisons of constant floats and Where between constant floats; a trained weight (which a refit may
/// change) cannot feed them, but single values given as initializers can (see FromConstants). On run-time tensors they are engine layers (see OnnxImporter.RunTimeMasks.cs).
/// </summary>
public sealed partial class OnnxImporter
{
    private bool FoldsAsMask(OnnxNode node) => node.OpType switch
    {
        "Trilu" => IsWeightValue(node.Inputs[0]),
        "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual" => IsWeightValue(node.Inputs[0]) && IsWeightValue(node.Inputs[1]),
        "Where" => IsInteger(node.Inputs[0]) && IsWeightValue(node.Inputs[1]) && IsWeightValue(node.Inputs[2]),
        _ => false,
    };

    /// <summary>
    /// Whether a weight comes from constants alone: a constant, or computed from constants and single values the model
    /// gives as parameters, which are folded as constants here. torch's dynamo-based exporter writes a causal mask's
    /// 1.0, 0.0 and −3.4e38 as initializers, not Constant nodes; a trained tensor of more values stays a parameter.
    /// </summary>
    private bool FromConstants(ModelWeights weight)
    {
        var parameters = new List<string>();
        if (!Sources(weight)) return false;
        foreach (string parameter in parameters.Distinct()) _network.FoldParameter(parameter);
        return true;

        bool Sources(ModelWeights w)
        {
            switch (w.Kind)
            {
                case WeightKind.Constant:
                    return true;
                case WeightKind.Parameter when Shapes.ElementCount(w.Shape) == 1:
                    parameters.Add(w.Name);
                    return true;
                case WeightKind.Computed:
                    return _network.FoldedOps.First(o => o.Output == w.Name).Inputs.All(i => Sources(_network.FindWeights(i)!));
                default:
                    return false;
            }
        }
    }

    private void FoldMask(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var inputs = node.Inputs.Skip(node.OpType == "Where" ? 1 : 0).Take(node.OpType == "Trilu" ? 1 : 2).Select(input => Float(input, name).Index).ToArray();
        if (inputs.Select(i => _network.Weights[i]).FirstOrDefault(w => !FromConstants(w)) is { } trained)
            throw new ModelImportException($"{node.OpType} '{name}': its input '{trained.Name}' is a trained weight or computed from one; TrtEngine evaluates {node.OpType} only on constants, at import.");
        var floats = inputs.Select(i => _network.Weights[i]).ToArray();
        switch (node.OpType)
        {
            case "Trilu":
            {
                var x = floats[0];
                if (x.Shape.Length < 2) throw new ModelImportException($"Trilu '{name}': its input {Shapes.Format(x.Shape)} has fewer than 2 dims.");
                long k = Has(node, 1) ? KnownIntegers(node, 1, "k")[0] : 0;
                bool upper = node.GetInt("upper", 1) != 0;
                int rows = x.Shape[^2], columns = x.Shape[^1];
                float[] y = (float[])x.Values.Clone();
                for (int i = 0; i < y.Length; i++)
                {
                    long row = i / columns % rows, column = i % columns;
                    if (upper ? column - row < k : column - row > k) y[i] = 0f;
                }
                _values[output] = _network.AddWeights(new ModelWeights(output, x.Shape, y, WeightKind.Constant));
                return;
            }
            case "Where":
            {
                var condition = Integer(node.Inputs[0], name);
                if (!condition.IsKnown) throw Dynamic(node, name, node.Inputs[0]);
                int[] dims = IntegerOps.Broadcast(name, IntegerOps.Broadcast(name, condition.Dims, floats[0].Shape), floats[1].Shape);
                var y = new float[IntegerOps.CheckedCount(node.OpType, name, dims, 1 << 22)];
                for (long i = 0; i < y.LongLength; i++)
                    y[i] = condition.Values[IntegerOps.Source(i, dims, condition.Dims)] != 0
                        ? floats[0].Values[IntegerOps.Source(i, dims, floats[0].Shape)] : floats[1].Values[IntegerOps.Source(i, dims, floats[1].Shape)];
                _values[output] = _network.AddWeights(new ModelWeights(output, dims, y, WeightKind.Constant));
                return;
            }
            default:
            {
                var (a, b) = (floats[0], floats[1]);
                int[] dims = IntegerOps.Broadcast(name, a.Shape, b.Shape);
                var y = new long[IntegerOps.CheckedCount(node.OpType, name, dims, IntegerOps.MaxElements)];
                for (long i = 0; i < y.LongLength; i++)
                {
                    float u = a.Values[IntegerOps.Source(i, dims, a.Shape)], v = b.Values[IntegerOps.Source(i, dims, b.Shape)];
                    y[i] = (node.OpType switch { "Equal" => u == v, "Less" => u < v, "Greater" => u > v, "LessOrEqual" => u <= v, _ => u >= v }) ? 1 : 0;
                }
                _integers[output] = new IntegerTensor(dims, y);
                return;
            }
        }
    }
}
