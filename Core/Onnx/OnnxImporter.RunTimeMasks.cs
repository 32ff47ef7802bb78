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
