using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Operators the engine runs as several of its layers, in the arithmetic ONNX Runtime does: ReduceL2 and
/// ReduceSumSquare (squares summed, then the root), PRelu (max(x, 0) + slope · min(x, 0)), InstanceNormalization (each
/// image's channel normalized over its other axes, then scaled and shifted), 1-D Conv, MaxPool and AveragePool (2-D ones
/// on [N, C, 1, L]; ConvTranspose too), LogSoftmax (x − max − ln Σ e^(x − max)), ReduceLogSumExp, Mean (the sum divided), DepthToSpace and SpaceToDepth (a
/// reshape, a transpose and a reshape) and Tile (copies concatenated). Their weights stay the model's, refittable by
/// their own names.
/// </summary>
public sealed partial class OnnxImporter
{
    private void ImportReduceSquares(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var x = Tensor(node.Inputs[0], name);
        var squares = Step(output, "square", new ElementwiseLayer($"{name}/square", BinaryOp.Mul, x, x));
        if (node.OpType == "ReduceSumSquare")
        {
            Define(node, ImportReduce(node, name, ReduceKind.Sum, 18, squares));
            return;
        }
        var sum = Step(output, "sum", ImportReduce(node, $"{name}/sum", ReduceKind.Sum, 18, squares));
        Define(node, new ActivationLayer(name, new Activation(ActivationKind.Sqrt), sum));
    }

    /// <summary>log Σ eˣ as max + log Σ e^(x − max), as ONNX Runtime computes it (finite where the sum of eˣ overflows).</summary>
    private void ImportReduceLogSumExp(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var x = Tensor(node.Inputs[0], name);
        long[] axes = ReduceAxes(node, 18) ?? [];
        bool keep = node.GetInt("keepdims", 1) != 0, noop = node.GetInt("noop_with_empty_axes", 0) != 0;
        var max = Step(output, "max", new ReduceLayer($"{name}/max", x, ReduceKind.Max, axes, keepDims: true, noop));
        var shifted = Step(output, "shifted", new ElementwiseLayer($"{name}/shifted", BinaryOp.Sub, x, max));
        var exp = Step(output, "exp", new ActivationLayer($"{name}/exp", new Activation(ActivationKind.Exp), shifted));
        var sum = Step(output, "sum", new ReduceLayer($"{name}/sum", exp, ReduceKind.Sum, axes, keep, noop));
        var log = Step(output, "log", new ActivationLayer($"{name}/log", new Activation(ActivationKind.Log), sum));
        // The maximum of each reduced run, its axes dropped as the sum's are (a maximum over dims of one).
        var offset = keep ? max : Step(output, "offset", new ReduceLayer($"{name}/offset", max, ReduceKind.Max, axes, keepDims: false, noop));
        Define(node, new ElementwiseLayer(name, BinaryOp.Add, log, offset));
    }

    /// <summary>x where it is positive, slope · x elsewhere: the slope is a weight broadcast to x (one per channel, as [C, 1, 1]).</summary>
    private void ImportPRelu(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var x = Tensor(node.Inputs[0], name);
        var zero = _network.AddWeights(new ModelWeights($"{output}/zero", [1], [0f], WeightKind.Constant));
        var positive = Step(output, "positive", new ElementwiseLayer($"{name}/positive", BinaryOp.Max, x, zero));
        var negative = Step(output, "negative", new ElementwiseLayer($"{name}/negative", BinaryOp.Min, x, zero));
        var scaled = Step(output, "scaled", new ElementwiseLayer($"{name}/scaled", BinaryOp.Mul, negative, Float(node.Inputs[1], name)));
        Define(node, new ElementwiseLayer(name, BinaryOp.Add, positive, scaled));
    }

    /// <summary>
    /// (x − mean) / √(variance + ε) · scale + B over each image's channel (the axes after N and C), the variance that
    /// of the differences; scale and B ([C]) are read as [C, 1, …] to broadcast over those axes.
    /// </summary>
    private void ImportInstanceNorm(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var x = Tensor(node.Inputs[0], name);
        int rank = _network.Dims(x).Length;
        if (rank < 3) throw new ModelImportException($"InstanceNormalization '{name}': its input has rank {rank}; it normalizes [N, C, D1, …] tensors (rank 3 or more).");
        long[] axes = Enumerable.Range(2, rank - 2).Select(a => (long)a).ToArray();
        var mean = Step(output, "mean", new ReduceLayer($"{name}/mean", x, ReduceKind.Mean, axes, keepDims: true, noopWithEmptyAxes: false));
        var centered = Step(output, "centered", new ElementwiseLayer($"{name}/centered", BinaryOp.Sub, x, mean));
        var squares = Step(output, "squares", new ElementwiseLayer($"{name}/squares", BinaryOp.Mul, centered, centered));
        var variance = Step(output, "variance", new ReduceLayer($"{name}/variance", squares, ReduceKind.Mean, axes, keepDims: true, noopWithEmptyAxes: false));
        var epsilon = _network.AddWeights(new ModelWeights($"{output}/epsilon", [1], [node.GetFloat("epsilon", 1e-5f)], WeightKind.Constant));
        var deviation = Step(output, "deviation", new ActivationLayer($"{name}/deviation", new Activation(ActivationKind.Sqrt),
            Step(output, "shifted", new ElementwiseLayer($"{name}/shifted", BinaryOp.Add, variance, epsilon))));
        var normalized = Step(output, "normalized", new ElementwiseLayer($"{name}/normalized", BinaryOp.Div, centered, deviation));
        var scaled = Step(output, "scaled", new ElementwiseLayer($"{name}/scaled", BinaryOp.Mul, normalized, PerChannel(node, name, 1, rank)));
        Define(node, new ElementwiseLayer(name, BinaryOp.Add, scaled, PerChannel(node, name, 2, rank)));
    }

    /// <summary>A [C] weight read as [C, 1, …] (rank − 1 dims), kept a copy a refit re-runs, so the weight refits by its own name.</summary>
    private ValueRef PerChannel(OnnxNode node, string name, int index, int rank)
    {
        var weight = _network.Weights[Weight(node, index).Index];
        if (weight.Shape.Length != 1)
            throw new ModelImportException($"{node.OpType} '{name}': its input '{node.Inputs[index]}' has shape {Shapes.Format(weight.Shape)}; it takes one value a channel ([C]).");
        int[] shape = [weight.Shape[0], .. Enumerable.Repeat(1, rank - 2)];
        string output = $"{node.Outputs[0]}/{node.Inputs[index]}";
        AddFolded(node, name, FoldedOpKind.Copy, [weight], [], shape, output);
        return _values[output];
    }

    private bool IsSequence(string value) => _values.TryGetValue(value, out var v) && !v.IsWeight && _network.Dims(v).Length == 3;

    /// <summary>
    /// A 1-D convolution (transposed too) or pool as the 2-D one over [N, C, 1, L]: its window 1 × k, strides 1 × s,
    /// dilations 1 × d, pads 0 above and below (auto_pad pads nothing along a dim of 1 with a window of 1), output
    /// padding 0 × p, a convolution's weight read as [O, C/g, 1, k]; the result read back as [N, O, L′].
    /// </summary>
    private void ImportOnSequence(OnnxNode node, string name)
    {
        string output = node.Outputs[0], image = $"{output}/image";
        var x = Tensor(node.Inputs[0], name);
        int length = _network.Dims(x)[2];
        // A static length stays static (a −1 beside a dynamic batch would not be).
        _values[image] = _network.AddLayer(new ReshapeLayer($"{name}/image", ReshapeMode.Reshape, x, [0, 0, 1, length < 0 ? -1 : length]), image);
        string[] inputs = [image, .. node.Inputs.Skip(1)];
        if (node.OpType is "Conv" or "ConvTranspose")
        {
            var weight = _network.Weights[Weight(node, 1).Index];
            if (weight.Shape.Length != 3) throw new ModelImportException($"{node.OpType} '{name}': a 1-D convolution's weight has 3 dims ([O, C/groups, k]; transposed, [C, O/groups, k]), not {Shapes.Format(weight.Shape)}.");
            inputs[1] = $"{output}/weight";
            AddFolded(node, name, FoldedOpKind.Copy, [weight], [], [weight.Shape[0], weight.Shape[1], 1, weight.Shape[2]], inputs[1]);
        }
        var attributes = node.Attributes.Select(a => a.Name switch
        {
            "kernel_shape" or "strides" or "dilations" or "output_shape" => a.WithInts([1L, .. a.Ints]),
            "output_padding" => a.WithInts([0L, .. a.Ints]),
            "pads" when a.Ints.Count == 2 => a.WithInts([0L, a.Ints[0], 0L, a.Ints[1]]),
            _ => a,
        }).ToArray();
        // The other outputs go along, so MaxPool's Indices is refused as for a 2-D pool.
        var lifted = new OnnxNode(node.Name, node.OpType, node.Domain, inputs, [$"{output}/2d", .. node.Outputs.Skip(1)], attributes);
        var layer = node.OpType switch
        {
            "Conv" => ImportConv(lifted, name),
            "ConvTranspose" => ImportConvTranspose(lifted, name),
            _ => ImportPool(lifted, name),
        };
        var y = Step(output, "2d", layer);
        Define(node, new ReshapeLayer($"{name}/sequence", ReshapeMode.Reshape, y, [0, 0, -1]));
    }

    /// <summary>
    /// (x − max) − ln Σ e^(x − max) over the axis (before opset 13, over it and every later one): finite where the
    /// softmax's smallest values underflow to 0 and their logarithm would be −∞.
    /// </summary>
    private void ImportLogSoftmax(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var x = Tensor(node.Inputs[0], name);
        int rank = _network.Dims(x).Length;
        int axis = Shapes.NormalizeAxis(checked((int)node.GetInt("axis", Opset < 13 ? 1 : -1)), rank, "LogSoftmax", name);
        long[] axes = Enumerable.Range(axis, Opset < 13 ? rank - axis : 1).Select(a => (long)a).ToArray();
        var max = Step(output, "max", new ReduceLayer($"{name}/max", x, ReduceKind.Max, axes, keepDims: true, noopWithEmptyAxes: false));
        var shifted = Step(output, "shifted", new ElementwiseLayer($"{name}/shifted", BinaryOp.Sub, x, max));
        var exp = Step(output, "exp", new ActivationLayer($"{name}/exp", new Activation(ActivationKind.Exp), shifted));
        var sum = Step(output, "sum", new ReduceLayer($"{name}/sum", exp, ReduceKind.Sum, axes, keepDims: true, noopWithEmptyAxes: false));
        var log = Step(output, "log", new ActivationLayer($"{name}/log", new Activation(ActivationKind.Log), sum));
        Define(node, new ElementwiseLayer(name, BinaryOp.Sub, shifted, log));
    }

    /// <summary>The inputs' sum (broadcast together) divided by their count.</summary>
    private void ImportMean(OnnxNode node, string name)
    {
        RefuseIntegerDivision(node, name);
        string output = node.Outputs[0];
        int count = node.Inputs.Count(i => i.Length > 0);
        var sum = Step(output, "sum", Variadic(node, $"{name}/sum", BinaryOp.Add));
        var divisor = _network.AddWeights(new ModelWeights($"{output}/count", [1], [count], WeightKind.Constant));
        Define(node, new ElementwiseLayer(name, BinaryOp.Div, sum, divisor));
    }

    /// <summary>
    /// DepthToSpace (DCR or CRD) and SpaceToDepth on [N, C, H, W] through six dims: blocks of b × b moved between the
    /// channels and the plane. H and W must be known at import (a reshape copies at most one dim the run time fixes
    /// besides N).
    /// </summary>
    private void ImportBlockShuffle(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        var x = Image(node, name);
        int[] dims = _network.Dims(x);
        int b = checked((int)node.GetInt("blocksize", 0)), c = dims[1], h = dims[2], w = dims[3];
        if (b < 1) throw new ModelImportException($"{node.OpType} '{name}': blocksize {b} is below 1.");
        if (c < 0 || h < 0 || w < 0)
            throw new ModelImportException($"{node.OpType} '{name}': its input {Shapes.Format(dims)} has a dynamic channel, height or width; TrtEngine needs them at import. Fix the input's shape when converting (-InputShape).");
        bool toSpace = node.OpType == "DepthToSpace";
        if (toSpace ? c % (b * b) != 0 : h % b != 0 || w % b != 0)
            throw new ModelImportException($"{node.OpType} '{name}': blocksize {b} does not divide its input {Shapes.Format(dims)} ({(toSpace ? "channels by b²" : "height and width by b")}).");
        bool crd = toSpace && node.GetString("mode", "DCR") == "CRD";
        long[] split = !toSpace ? [0, c, h / b, b, w / b, b] : crd ? [0, c / (b * b), b, b, h, w] : [0, b, b, c / (b * b), h, w];
        int[] perm = !toSpace ? [0, 3, 5, 1, 2, 4] : crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
        long[] merged = toSpace ? [0, c / (b * b), h * b, w * b] : [0, c * b * b, h / b, w / b];
        var blocks = Step(output, "blocks", new ReshapeLayer($"{name}/blocks", ReshapeMode.Reshape, x, split));
        var moved = Step(output, "moved", new TransposeLayer($"{name}/moved", blocks, perm));
        Define(node, new ReshapeLayer(name, ReshapeMode.Reshape, moved, merged));
    }

    /// <summary>
    /// Gelu (opset 20, what torch writes for nn.GELU from opset 20 on): the engine's GELU where exact (approximate
    /// "none"); with approximate "tanh", 0.5·x·(1 + tanh(u)) for u = √(2/π)·(x + 0.044715·x³), in element-wise layers as
    /// x·sigmoid(2u), its equal, which keeps the negative tail's precision (1 + tanh(u) cancels there: 3e-4 relative at
    /// x = −3.6, found by a QA helper's fuzzer).
    /// </summary>
    private void ImportGelu(OnnxNode node, string name)
    {
        string approximate = node.GetString("approximate", "none");
        if (approximate == "none")
        {
            Define(node, Unary(node, name, new Activation(ActivationKind.Gelu)));
            return;
        }
        if (approximate != "tanh") throw new ModelImportException($"Gelu '{name}': approximate '{approximate}' is neither 'none' nor 'tanh'.");
        string output = node.Outputs[0];
        var x = Tensor(node.Inputs[0], name);
        ValueRef Constant(string what, float value) => _network.AddWeights(new ModelWeights($"{output}/{what}", [1], [value], WeightKind.Constant));
        ValueRef Binary(string step, BinaryOp op, ValueRef a, ValueRef b) => Step(output, step, new ElementwiseLayer($"{name}/{step}", op, a, b));
        var cube = Binary("cube", BinaryOp.Mul, Binary("square", BinaryOp.Mul, x, x), x);
        var inner = Binary("inner", BinaryOp.Add, x, Binary("cubic", BinaryOp.Mul, cube, Constant("coefficient", 0.044715f)));
        var twice = Binary("twice", BinaryOp.Mul, inner, Constant("two_sqrt_2_over_pi", 2 * MathF.Sqrt(2f / MathF.PI)));
        var gate = Step(output, "gate", new ActivationLayer($"{name}/gate", new Activation(ActivationKind.Sigmoid), twice));
        Define(node, new ElementwiseLayer(name, BinaryOp.Mul, x, gate));
    }

    /// <summary>
    /// SplitToSequence (torch's chunk and split, as the dynamo-based exporter writes them unoptimized) as a Split whose
    /// parts make the sequence SequenceAt picks from: parts of the size given (a scalar: that size, the last one
    /// smaller), of the sizes given, or of one each, squeezed unless keepdims.
    /// </summary>
    private void ImportSplitToSequence(OnnxNode node, string name)
    {
        string sequence = node.Outputs[0];
        int[] dims = _network.Dims(Float(node.Inputs[0], name));
        int axis = Shapes.NormalizeAxis(checked((int)node.GetInt("axis", 0)), dims.Length, "SplitToSequence", name);
        if (dims[axis] < 0) throw new ModelImportException($"SplitToSequence '{name}': axis {axis} of {Shapes.Format(dims)} is known only at run time; TrtEngine splits known dims.");
        bool given = Has(node, 1);
        long[] sizes = !given ? [.. Enumerable.Repeat(1L, dims[axis])]
            : Integer(node.Inputs[1], name).Dims.Length == 0 && KnownIntegers(node, 1, "split") is [var size] && size > 0
                ? [.. Enumerable.Range(0, (int)((dims[axis] + size - 1) / size)).Select(i => Math.Min(size, dims[axis] - i * size))]
            : KnownIntegers(node, 1, "split");
        // Before opset 13 Split and Squeeze take their sizes and axes as attributes, from then on as inputs.
        bool asInputs = Opset >= 13;
        _integers[$"{sequence}/sizes"] = IntegerTensor.Vector(sizes);
        string[] parts = [.. Enumerable.Range(0, sizes.Length).Select(i => $"{sequence}/{i}")];
        OnnxAttribute Ints(string attribute, long[] values) => new(attribute, OnnxAttributeType.Ints, 0, 0, [], null, null, [], values, [], [], []);
        var split = new OnnxNode(sequence, "Split", "", asInputs ? [node.Inputs[0], $"{sequence}/sizes"] : [node.Inputs[0]], parts,
                                 [new OnnxAttribute("axis", OnnxAttributeType.Int, 0, axis, [], null, null, [], [], [], [], []), .. asInputs ? [] : new[] { Ints("split", sizes) }]);
        ImportNode(split);
        TrackRunTimeTypes(split);
        if (!given && node.GetInt("keepdims", 1) == 0)
        {
            _integers[$"{sequence}/axes"] = IntegerTensor.Vector([axis]);
            parts = [.. parts.Select(part => asInputs ? Emit(node, "Squeeze", [part, $"{sequence}/axes"], $"{part}/squeezed")
                                                      : Emit(node, "Squeeze", [part], $"{part}/squeezed", ("axes", [axis])))];
        }
        _sequences[sequence] = parts;
    }

    /// <summary>Tile by repeats known at import: along each axis, that many copies concatenated (a weight's folded, refittably).</summary>
    private void ImportTile(OnnxNode node, string name)
    {
        string output = node.Outputs[0];
        long[] repeats = KnownIntegers(node, 1, "repeats");
        var x = Float(node.Inputs[0], name);
        int rank = _network.Dims(x).Length;
        if (repeats.Length != rank || repeats.Any(r => r < 1 || r > 4096))
            throw new ModelImportException($"Tile '{name}': repeats [{string.Join(", ", repeats)}] must give each of the input's {rank} dims a count from 1 to 4096.");
        var result = x;
        for (int axis = 0; axis < rank; axis++)
        {
            if (repeats[axis] == 1) continue;
            string step = $"{output}/tiled{axis}";
            if (result.IsWeight)
            {
                var weight = _network.Weights[result.Index];
                AddFolded(node, name, FoldedOpKind.Concat, Enumerable.Repeat(weight, (int)repeats[axis]).ToArray(), [axis], weight.Shape, step);
                result = _values[step];
            }
            else result = Step(output, $"tiled{axis}", new ConcatLayer($"{name}/{axis}", axis, Enumerable.Repeat(result, (int)repeats[axis]).ToArray()));
        }
        _values[output] = result.IsWeight ? result : _network.AddLayer(new ReshapeLayer(name, ReshapeMode.Identity, result), output);
    }

    /// <summary>One of the layers an operator is lowered to, its output named after the operator's.</summary>
    private ValueRef Step(string output, string step, Layer layer) => _network.AddLayer(layer, $"{output}/{step}");
}
