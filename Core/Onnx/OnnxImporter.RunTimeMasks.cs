using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Booleans computed at run time: comparisons of float tensors (x &gt; 0, mask == 0), IsNaN and IsInf, Not, And, Or and Xor of them,
/// Cast of floats to bool, and Where choosing between float tensors by them (masked_fill, torch.where). The engine
/// holds a boolean as the float 1 or 0, which every producer here writes; ONNX's types guarantee that a condition is
/// a boolean, so the consumers read any nonzero value as true. A boolean graph output is refused (engines output
/// float32), as is a cast of a boolean to an integer type.
/// </summary>
public sealed partial class OnnxImporter
{
    private void ImportRunTimeMask(OnnxNode node, string name)
    {
        Layer layer = node.OpType switch
        {
            "Equal" => Comparison(node, name, BinaryOp.Equal, swap: false),
            "Less" => Comparison(node, name, BinaryOp.Less, swap: false),
            "Greater" => Comparison(node, name, BinaryOp.Less, swap: true),
            "LessOrEqual" => Comparison(node, name, BinaryOp.LessOrEqual, swap: false),
            "GreaterOrEqual" => Comparison(node, name, BinaryOp.LessOrEqual, swap: true),
            "Not" => new ElementwiseLayer(name, BinaryOp.Equal, Condition(node, 0, name), False(name)),
            // On 1 and 0: a product, a maximum, a difference.
            "And" => new ElementwiseLayer(name, BinaryOp.Mul, Condition(node, 0, name), Condition(node, 1, name)),
            "Or" => new ElementwiseLayer(name, BinaryOp.Max, Condition(node, 0, name), Condition(node, 1, name)),
            "Xor" => new ElementwiseLayer(name, BinaryOp.NotEqual, Condition(node, 0, name), Condition(node, 1, name)),
            // NaN alone is not equal to itself.
            "IsNaN" => new ElementwiseLayer(name, BinaryOp.NotEqual, Tensor(node.Inputs[0], name), Tensor(node.Inputs[0], name)),
            "IsInf" => ImportIsInf(node, name),
            _ => new SelectLayer(name, Condition(node, 0, name), Numeric(node, 1, name), Numeric(node, 2, name)),
        };
        Define(node, layer);
    }

    /// <summary>Trilu of a run-time tensor (torch.triu, tril): its values where a constant mask of its last two (static) dims keeps them, 0 elsewhere.</summary>
    private void ImportRunTimeTrilu(OnnxNode node, string name)
    {
        var x = Tensor(node.Inputs[0], name);
        int[] dims = _network.Dims(x);
        if (dims.Length < 2 || dims[^1] < 0 || dims[^2] < 0)
            throw new ModelImportException($"Trilu '{name}': its input {Shapes.Format(dims)} needs two static last dims (rows and columns) for its mask; fix the input's shape (-InputShape).");
        long k = Has(node, 1) ? KnownIntegers(node, 1, "k")[0] : 0;
        bool upper = node.GetInt("upper", 1) != 0;
        int rows = dims[^2], columns = dims[^1];
        float[] keep = new float[(long)rows * columns];
        for (int i = 0; i < keep.Length; i++)
        {
            long row = i / columns, column = i % columns;
            keep[i] = (upper ? column - row >= k : column - row <= k) ? 1f : 0f;
        }
        var mask = _network.AddWeights(new ModelWeights($"{name}/mask", [rows, columns], keep, WeightKind.Constant));
        Define(node, new SelectLayer(name, mask, x, False(name)));
    }

    /// <summary>
    /// OneHot: on where an index (counted from the end when negative) equals its position along the new axis, off
    /// elsewhere; depth and values known at import. Integer values make integers (torch's one_hot, then cast).
    /// </summary>
    private void ImportOneHot(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var indices = Tensor(node.Inputs[0], name);
        // A depth of another type is cast to int64 first (the operator's definition), so a float one truncates.
        long[] depths = IsInteger(node.Inputs[1]) ? KnownIntegers(node, 1, "depth") : Array.ConvertAll(ConstantFloats(node, 1), f => (long)f);
        long depth = depths is not [var d] ? throw new ModelImportException($"OneHot '{name}': its depth holds {depths.Length} values; it must be one.")
            : d > 0 && d <= IntegerOps.MaxElements ? d : throw new ModelImportException($"OneHot '{name}': depth {d} is not a positive size.");
        int rank = _network.Dims(indices).Length + 1;
        int axis = Shapes.NormalizeAxis(checked((int)node.GetInt("axis", -1)), rank, "OneHot", name);
        float[] values = IsInteger(node.Inputs[2]) ? Array.ConvertAll(KnownIntegers(node, 2, "values"), v => (float)v) : ConstantFloats(node, 2);
        if (values.Length != 2) throw new ModelImportException($"OneHot '{name}': its values hold {values.Length} elements; they must be [off, on].");
        // The positions along the new axis, and the same less depth (where a negative index points), placed at that axis.
        int[] placed = [(int)depth, .. Enumerable.Repeat(1, rank - 1 - axis)];
        ValueRef Positions(string suffix, long shift) =>
            _network.AddWeights(new ModelWeights($"{name}/{suffix}", placed, Enumerable.Range(0, (int)depth).Select(p => (float)(p - shift)).ToArray(), WeightKind.Constant));
        int[] origins = Enumerable.Range(0, rank).Select(i => i < axis ? i : i == axis ? -1 : i - 1).ToArray();
        var expanded = Step(output, "index", Squeezing($"{name}/index", indices, origins));
        var at = Step(output, "at", new ElementwiseLayer($"{name}/at", BinaryOp.Equal, expanded, Positions("positions", 0)));
        var atEnd = Step(output, "from_end", new ElementwiseLayer($"{name}/from_end", BinaryOp.Equal, expanded, Positions("from_end_positions", depth)));
        var hot = Step(output, "hot", new ElementwiseLayer($"{name}/hot", BinaryOp.Max, at, atEnd));
        ValueRef Scalar(string suffix, float v) => _network.AddWeights(new ModelWeights($"{name}/{suffix}", [], [v], WeightKind.Constant));
        Define(node, new SelectLayer(name, hot, Scalar("on", values[1]), Scalar("off", values[0])));
        if (IsInteger(node.Inputs[2])) _runTimeIntegers.Add(output);
    }

    /// <summary>IsInf: |x| = ∞ (ONNX's default), or x = +∞ or x = −∞ alone as detect_negative and detect_positive ask.</summary>
    private Layer ImportIsInf(OnnxNode node, string name)
    {
        var x = Tensor(node.Inputs[0], name);
        bool negative = node.GetInt("detect_negative", 1) != 0, positive = node.GetInt("detect_positive", 1) != 0;
        if (negative && positive) x = _network.AddLayer(new ActivationLayer(name + "/abs", new Activation(ActivationKind.Abs), x), node.Outputs[0] + "/abs");
        // Neither asked for: no value is detected (ONNX Runtime's answer), as no float equals NaN.
        float infinity = !negative && !positive ? float.NaN : negative && !positive ? float.NegativeInfinity : float.PositiveInfinity;
        return new ElementwiseLayer(name, BinaryOp.Equal, x, _network.AddWeights(new ModelWeights($"{name}/infinity", [], [infinity], WeightKind.Constant)));
    }

    /// <summary>Cast of a run-time float tensor to bool: true where it is not 0 (NaN too, as C++ casts it).</summary>
    private void CastToBoolean(OnnxNode node, string name) =>
        Define(node, new ElementwiseLayer(name, BinaryOp.NotEqual, Tensor(node.Inputs[0], name), False(name)));

    /// <summary>A comparison as one of the engine's (Greater is Less with the operands swapped).</summary>
    private ElementwiseLayer Comparison(OnnxNode node, string name, BinaryOp op, bool swap)
    {
        var (a, b) = (Numeric(node, 0, name), Numeric(node, 1, name));
        return swap ? new ElementwiseLayer(name, op, b, a) : new ElementwiseLayer(name, op, a, b);
    }

    /// <summary>
    /// A boolean operand: a run-time one as it is, one known at import (an integer tensor: a mask of constants, a
    /// comparison of shapes) as a constant of 1 and 0.
    /// </summary>
    private ValueRef Condition(OnnxNode node, int index, string name)
    {
        string input = node.Inputs[index];
        if (!IsInteger(input)) return Float(input, name);
        var mask = Integer(input, name);
        if (!mask.IsKnown) throw Dynamic(node, name, input);
        float[] values = Array.ConvertAll(mask.Values, v => v != 0 ? 1f : 0f);
        return _network.AddWeights(new ModelWeights($"{name}/{input}", mask.Dims, values, WeightKind.Constant));
    }

    private ValueRef False(string name) => _network.AddWeights(new ModelWeights($"{name}/false", [], [0f], WeightKind.Constant));
}
