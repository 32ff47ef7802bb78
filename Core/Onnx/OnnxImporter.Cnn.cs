using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>Convolutional-network operators: convolutions, pooling, normalisation and tensor reshuffling.</summary>
public sealed partial class OnnxImporter
{
    private void ImportCnn(OnnxNode node, string name)
    {
        switch (node.OpType)
        {
            case "Conv" or "ConvTranspose" or "MaxPool" or "AveragePool" when IsSequence(node.Inputs[0]): ImportOnSequence(node, name); return;
            case "Conv": Define(node, ImportConv(node, name)); return;
            case "ConvTranspose": Define(node, ImportConvTranspose(node, name)); return;
            case "BatchNormalization": Define(node, ImportBatchNorm(node, name)); return;
            case "MaxPool" or "AveragePool": Define(node, ImportPool(node, name)); return;
            case "GlobalAveragePool" or "GlobalMaxPool":
                Define(node, new PoolLayer(name, Tensor(node.Inputs[0], name), node.OpType == "GlobalMaxPool" ? PoolKind.Max : PoolKind.Average,
                    [], [], [], [], false, false, AutoPad.NotSet, global: true));
                return;
            case "Concat":
                Define(node, new ConcatLayer(name, checked((int)node.GetInt("axis", 0)),
                    node.Inputs.Select((input, index) => (input, index)).Where(i => i.input.Length > 0).Select(i => Numeric(node, i.index, name)).ToArray()));
                return;
            case "Split": ImportSplit(node, name); return;
            case "Slice":
            {
                var (starts, ends, axes, steps) = SliceParameters(node);
                Define(node, new SliceLayer(name, Tensor(node.Inputs[0], name), starts, ends, axes, steps));
                return;
            }
            case "Transpose":
            {
                var x = Tensor(node.Inputs[0], name);
                int rank = _network.Dims(x).Length;
                int[] perm = node.GetInts("perm") is { } p ? p.Select(v => (int)v).ToArray() : Enumerable.Range(0, rank).Reverse().ToArray();
                Define(node, new TransposeLayer(name, x, perm));
                return;
            }
            case "Squeeze" or "Unsqueeze":
            {
                var x = Float(node.Inputs[0], name);
                Define(node, Squeezing(name, x, Squeezed(node, name, _network.Dims(x))));
                return;
            }
            case "Pad": Define(node, ImportPad(node, name)); return;
            case "Resize" or "Upsample": Define(node, ImportResize(node, name)); return;
            case "ReduceMean":
                RefuseIntegerDivision(node, name);
                Define(node, ImportReduce(node, name, ReduceKind.Mean, 18));
                return;
            case "ReduceSum": Define(node, ImportReduce(node, name, ReduceKind.Sum, 13)); return;
            case "ReduceMax": Define(node, ImportReduce(node, name, ReduceKind.Max, 18)); return;
            case "ReduceL2" or "ReduceSumSquare": ImportReduceSquares(node, name); return;
            case "ReduceLogSumExp": ImportReduceLogSumExp(node, name); return;
            case "PRelu": ImportPRelu(node, name); return;
            case "InstanceNormalization": ImportInstanceNorm(node, name); return;
            case "DepthToSpace" or "SpaceToDepth": ImportBlockShuffle(node, name); return;
            case "Tile": ImportTile(node, name); return;
            case "Cast":
            {
                var to = (OnnxDataType)node.GetInt("to", 0);
                if (to == OnnxDataType.Bool && !IsWeightValue(node.Inputs[0]))
                {
                    CastToBoolean(node, name);
                    return;
                }
                // Booleans and integers computed at run time are exact floats already.
                if (IsIntegerType(to) && (_runTimeIntegers.Contains(node.Inputs[0]) || _runTimeBooleans.Contains(node.Inputs[0])))
                {
                    _values[node.Outputs[0]] = _network.AddLayer(new ReshapeLayer(name, ReshapeMode.Identity, Float(node.Inputs[0], name)), node.Outputs[0]);
                    return;
                }
                if (!IsFloat(to))
                {
                    CastToIntegers(node, name, to);
                    return;
                }
                // float32 to double and back is exact; to a 16-bit float it rounds, which passing the values through would skip.
                if (to is OnnxDataType.Float16 or OnnxDataType.BFloat16)
                    throw new ModelImportException($"Cast '{name}' rounds its float32 values to {to} (to = {(int)to}); TrtEngine computes in float32 only and cannot round them so.");
                var x = Float(node.Inputs[0], name);
                _values[node.Outputs[0]] = x.IsWeight ? x : _network.AddLayer(new ReshapeLayer(name, ReshapeMode.Identity, x), node.Outputs[0]);
                return;
            }
            case "Expand" when ExpandsToRunTimeDims(node): ImportRunTimeExpand(node, name); return;
            case "Expand": Define(node, new ElementwiseLayer(name, BinaryOp.Mul, Tensor(node.Inputs[0], name), Ones(node, name))); return;
            case "Gather": Define(node, ImportGather(node, name)); return;
            case "Einsum": ImportEinsum(node, name); return;
            case "ArgMax" or "ArgMin":
                Define(node, new AxisLayer(name, Tensor(node.Inputs[0], name), node.OpType == "ArgMax" ? AxisOperation.ArgMax : AxisOperation.ArgMin,
                    checked((int)node.GetInt("axis", 0)), node.GetInt("keepdims", 1) != 0, node.GetInt("select_last_index", 0) != 0, exclusive: false));
                return;
            case "GatherND": ImportGatherND(node, name); return;
            case "SplitToSequence": ImportSplitToSequence(node, name); return;
            case "SequenceAt":
            {
                var parts = _sequences.TryGetValue(node.Inputs[0], out var held) ? held
                    : throw new ModelImportException($"SequenceAt '{name}': '{node.Inputs[0]}' is not a sequence TrtEngine made (SplitToSequence's).");
                long position = KnownIntegers(node, 1, "position") is [var p] && p >= -parts.Length && p < parts.Length ? p
                    : throw new ModelImportException($"SequenceAt '{name}': its position must be one integer from {-parts.Length} to {parts.Length - 1}.");
                Emit(node, "Identity", [parts[position < 0 ? position + parts.Length : position]], node.Outputs[0]);
                return;
            }
            case "GatherElements":
                Define(node, new GatherElementsLayer(name, Numeric(node, 0, name), Numeric(node, 1, name), checked((int)node.GetInt("axis", 0))));
                return;
            case "TopK": ImportTopK(node, name); return;
            case "LSTM" or "GRU": ImportRecurrent(node, name); return;
            case "CumSum":
            {
                long[] axis = KnownIntegers(node, 1, "axis");
                if (axis.Length != 1) throw new ModelImportException($"CumSum '{name}': its axis holds {axis.Length} values; it must hold one.");
                Define(node, new AxisLayer(name, Tensor(node.Inputs[0], name), AxisOperation.CumSum, checked((int)axis[0]), keepDims: true,
                    last: node.GetInt("reverse", 0) != 0, exclusive: node.GetInt("exclusive", 0) != 0));
                return;
            }
            case "Floor": Define(node, Unary(node, name, new Activation(ActivationKind.Floor))); return;
            case "Ceil": Define(node, Unary(node, name, new Activation(ActivationKind.Ceil))); return;
            case "Round": Define(node, Unary(node, name, new Activation(ActivationKind.Round))); return;
            default:
                // An integer tensor computed at run time (from an int64 input) is not known at import either.
                throw new ModelImportException($"{node.OpType} '{name}' works on " +
                    (node.Inputs.FirstOrDefault(_runTimeIntegers.Contains) is { } integer ? $"'{integer}', an integer tensor computed at run time" : "float tensors here") +
                    $"; TrtEngine evaluates {node.OpType} only on integer tensors known at import.");
        }
    }

    /// <summary>
    /// Gather of a run-time tensor at indices known at import (attention picking q, k and v out of one projection): a
    /// slice per index, the axis dropped for a scalar index, concatenated for several.
    /// </summary>
    private Layer ImportGather(OnnxNode node, string name)
    {
        if (!IsInteger(node.Inputs[1])) return RunTimeGather(node, name);
        var x = Tensor(node.Inputs[0], name);
        int[] dims = _network.Dims(x);
        int axis = Shapes.NormalizeAxis(checked((int)node.GetInt("axis", 0)), dims.Length, "Gather", name);
        long[] indices = KnownIntegers(node, 1, "indices");
        int indexRank = Integer(node.Inputs[1], name).Dims.Length;
        if (indexRank > 1)
            throw new ModelImportException($"Gather '{name}' picks from '{node.Inputs[0]}', a tensor computed at run time, with indices of rank {indexRank}; TrtEngine gathers such tensors with a scalar or a vector of indices only.");
        ValueRef Pick(long k, string output)
        {
            if (dims[axis] >= 0 && (k < -dims[axis] || k >= dims[axis]))
                throw new ModelImportException($"Gather '{name}': index {k} is outside axis {axis} of {Shapes.Format(dims)}.");
            return _network.AddLayer(new SliceLayer(output, x, [k], [k == -1 ? long.MaxValue : k + 1], [axis], [1]), output);
        }
        if (indexRank == 0)
        {
            var picked = Pick(indices[0], node.Outputs[0] + "/picked");
            int[] origins = Enumerable.Range(0, dims.Length).Where(d => d != axis).ToArray();
            return Squeezing(name, picked, origins);
        }
        var parts = indices.Select((k, i) => Pick(k, $"{node.Outputs[0]}/{i}")).ToArray();
        return parts.Length == 1 ? new ReshapeLayer(name, ReshapeMode.Identity, parts[0]) : new ConcatLayer(name, axis, parts);
    }

    private ValueRef Weight(OnnxNode node, int index)
    {
        var v = Float(node.Inputs[index], NodeName(node));
        if (!v.IsWeight) throw NotAWeight($"{node.OpType} '{NodeName(node)}'", node.Inputs[index]);
        return v;
    }

    /// <summary>A 4-D (NCHW) run-time tensor; TrtEngine runs 2-D convolutions and pools only.</summary>
    private ValueRef Image(OnnxNode node, string name)
    {
        var x = Tensor(node.Inputs[0], name);
        if (_network.Dims(x).Length != 4)
            throw new ModelImportException($"{node.OpType} '{name}': input {Shapes.Format(_network.Dims(x))} is not 4-D; TrtEngine runs 2-D (NCHW) {node.OpType} only.");
        return x;
    }

    private static int[] Ints(OnnxNode node, string attribute, int[] fallback) =>
        node.GetInts(attribute) is { } v ? v.Select(i => checked((int)i)).ToArray() : fallback;

    private static AutoPad ParseAutoPad(OnnxNode node, string name) => node.GetString("auto_pad", "NOTSET") switch
    {
        "NOTSET" or "" => AutoPad.NotSet,
        "SAME_UPPER" => AutoPad.SameUpper,
        "SAME_LOWER" => AutoPad.SameLower,
        "VALID" => AutoPad.Valid,
        var other => throw new ModelImportException($"{node.OpType} '{name}': auto_pad '{other}' is unknown."),
    };

    private Layer ImportConv(OnnxNode node, string name)
    {
        var x = Image(node, name);
        var w = Weight(node, 1);
        int[] wDims = _network.Dims(w);
        if (wDims.Length != 4) throw new ModelImportException($"Conv '{name}': weight {Shapes.Format(wDims)} is not 4-D.");
        var bias = Has(node, 2) ? Weight(node, 2) : ValueRef.None;
        return new ConvLayer(name, x, w, bias, Ints(node, "kernel_shape", [wDims[2], wDims[3]]), Ints(node, "strides", [1, 1]), Ints(node, "pads", [0, 0, 0, 0]),
            Ints(node, "dilations", [1, 1]), checked((int)node.GetInt("group", 1)), ParseAutoPad(node, name));
    }

    private Layer ImportBatchNorm(OnnxNode node, string name)
    {
        // Training mode normalises by the batch's own mean and variance, not the running ones the layer uses: opset 14
        // says so with training_mode, earlier opsets by asking for the running or saved statistics as outputs.
        bool training = Opset >= 14 ? node.GetInt("training_mode", 0) != 0 : node.Outputs.Skip(1).Any(o => o.Length > 0);
        if (training)
            throw new ModelImportException($"BatchNormalization '{name}' is in training mode ({(Opset >= 14 ? "training_mode = 1" : "statistics outputs")}), which normalises by the batch's statistics; TrtEngine runs inference BatchNormalization only (export the model in eval mode).");
        // Before opset 9, spatial = 0 gives every element its own mean and variance (parameters [C, H, W]).
        if (Opset < 9 && node.GetInt("spatial", 1) == 0)
            throw new ModelImportException($"BatchNormalization '{name}': spatial = 0 (per-element statistics) is not supported; TrtEngine normalises per channel.");
        return new BatchNormLayer(name, Tensor(node.Inputs[0], name), Weight(node, 1), Weight(node, 2), Weight(node, 3), Weight(node, 4), node.GetFloat("epsilon", 1e-5f));
    }

    private Layer ImportPool(OnnxNode node, string name)
    {
        if (node.Outputs.Count > 1 && node.Outputs[1].Length > 0)
            throw new ModelImportException($"MaxPool '{name}': the Indices output is not supported.");
        var x = Image(node, name);
        int[] kernel = Ints(node, "kernel_shape", []);
        if (kernel.Length != 2) throw new ModelImportException($"{node.OpType} '{name}': kernel_shape [{string.Join(", ", kernel)}] is not 2-D.");
        return new PoolLayer(name, x, node.OpType == "MaxPool" ? PoolKind.Max : PoolKind.Average, kernel, Ints(node, "strides", [1, 1]), Ints(node, "pads", [0, 0, 0, 0]),
            Ints(node, "dilations", [1, 1]), node.GetInt("ceil_mode", 0) != 0, node.GetInt("count_include_pad", 0) != 0, ParseAutoPad(node, name), global: false);
    }

    private Layer ImportConvTranspose(OnnxNode node, string name)
    {
        var x = Image(node, name);
        var w = Weight(node, 1);
        int[] wDims = _network.Dims(w), xDims = _network.Dims(x);
        if (wDims.Length != 4) throw new ModelImportException($"ConvTranspose '{name}': weight {Shapes.Format(wDims)} is not 4-D.");
        var bias = Has(node, 2) ? Weight(node, 2) : ValueRef.None;
        int[] strides = Ints(node, "strides", [1, 1]), dilations = Ints(node, "dilations", [1, 1]), outputPadding = Ints(node, "output_padding", [0, 0]);
        int[] pads = Ints(node, "pads", [0, 0, 0, 0]);
        int[] outputShape = Ints(node, "output_shape", []);
        var autoPad = ParseAutoPad(node, name);
        if (outputShape.Length > 0 || autoPad is AutoPad.SameUpper or AutoPad.SameLower)
        {
            // The spec derives the pads from the wanted output size: total = stride·(in−1) + output_padding + extent − out.
            if (xDims[2] < 0 || xDims[3] < 0) throw new ModelImportException($"ConvTranspose '{name}': output_shape or auto_pad needs static H and W, not {Shapes.Format(xDims)}.");
            int[] target = outputShape.Length > 0 ? outputShape[^2..] : [xDims[2] * strides[0], xDims[3] * strides[1]];
            for (int d = 0; d < 2; d++)
            {
                int total = strides[d] * (xDims[2 + d] - 1) + outputPadding[d] + (wDims[2 + d] - 1) * dilations[d] + 1 - target[d];
                if (total < 0) throw new ModelImportException($"ConvTranspose '{name}': output_shape {target[d]} needs output_padding, which the model does not give.");
                bool upper = autoPad == AutoPad.SameUpper; // NOTSET splits as SAME_LOWER, as the spec and ONNX Runtime do
                pads[d] = upper ? total / 2 : total - total / 2;
                pads[d + 2] = total - pads[d];
            }
        }
        return new ConvTransposeLayer(name, x, w, bias, strides, pads, dilations, outputPadding, checked((int)node.GetInt("group", 1)));
    }

    private Layer ImportClip(OnnxNode node, string name)
    {
        // An omitted bound is the type's lowest or largest finite value (ONNX: numeric_limits lowest() and max()), so
        // Clip takes ±infinity to ±float.MaxValue, as ONNX Runtime does.
        float min = float.MinValue, max = float.MaxValue;
        if (Opset < 11)
        {
            min = node.GetFloat("min", min);
            max = node.GetFloat("max", max);
        }
        else
        {
            if (Has(node, 1)) min = ConstantFloats(node, 1)[0];
            if (Has(node, 2)) max = ConstantFloats(node, 2)[0];
        }
        return new ActivationLayer(name, new Activation(ActivationKind.Clip, min, max), Tensor(node.Inputs[0], name));
    }

    private void ImportSplit(OnnxNode node, string name)
    {
        var x = Tensor(node.Inputs[0], name);
        int[] dims = _network.Dims(x);
        long axis = IntegerOps.Axis(node.GetInt("axis", 0), dims.Length, name);
        int parts = node.Outputs.Count;
        long[] split = SplitSizes(node, name, dims[axis]);
        long start = 0;
        for (int i = 0; i < parts; i++)
        {
            long end = start + split[i];
            if (node.Outputs[i].Length > 0)
                _values[node.Outputs[i]] = _network.AddLayer(new SliceLayer($"{name}/{i}", x, [start], [end], [axis], [1]), node.Outputs[i]);
            start = end;
        }
    }

    /// <summary>The size of each of a Split's parts along its axis of length <paramref name="extent"/> (-1: dynamic).</summary>
    private long[] SplitSizes(OnnxNode node, string name, int extent)
    {
        int parts = node.Outputs.Count;
        long[]? split = Opset < 13 ? (node.GetInts("split") is { } s ? [.. s] : null) : Has(node, 1) ? KnownIntegers(node, 1, "split") : null;
        if (split is null)
        {
            if (extent < 0) throw new ModelImportException($"Split '{name}': splitting a dynamic dimension into equal parts needs its size.");
            // Opset 18's num_outputs gives the last part what remains; before, the parts must be equal.
            bool numOutputs = node.FindAttribute("num_outputs") is not null;
            if (Opset >= 18 && !numOutputs)
                throw new ModelImportException($"Split '{name}': from opset 18 a Split gives its sizes (input 1) or num_outputs.");
            if (numOutputs && node.GetInt("num_outputs", 0) != parts)
                throw new ModelImportException($"Split '{name}': num_outputs is {node.GetInt("num_outputs", 0)}, and it has {parts} outputs.");
            if (!numOutputs && extent % parts != 0)
                throw new ModelImportException($"Split '{name}': an axis of {extent} does not split into {parts} equal parts; give the sizes.");
            long chunk = numOutputs ? (extent + parts - 1) / parts : extent / parts;
            split = Enumerable.Range(0, parts).Select(i => Math.Max(0, Math.Min(chunk, extent - i * chunk))).ToArray();
        }
        if (split.Length != parts) throw new ModelImportException($"Split '{name}': {split.Length} sizes for {parts} outputs.");
        if (split.Any(s => s < 0) || (extent >= 0 && split.Sum() != extent))
            throw new ModelImportException($"Split '{name}': parts of [{string.Join(", ", split)}] do not make up the {extent} of its axis.");
        return split;
    }

    /// <summary>
    /// A Squeeze/Unsqueeze (each output dim an input dim, or −1 for a new 1) as a Reshape to static dims, 0 for a dynamic
    /// dim that keeps its position and −1 for one that moves; where more dynamic dims move (MultiheadAttention's
    /// unsqueeze of [batch, tokens, 3, E] with both dynamic), by the origins themselves.
    /// </summary>
    private ReshapeLayer Squeezing(string name, ValueRef x, int[] origins)
    {
        int[] dims = _network.Dims(x);
        int moving = origins.Where((source, i) => source >= 0 && source != i && dims[source] < 0).Count();
        return moving > 1
            ? new ReshapeLayer(name, ReshapeMode.Origins, x, [.. origins.Select(o => (long)o)])
            : new ReshapeLayer(name, ReshapeMode.Reshape, x, ReshapeTarget(name, dims, origins));
    }

    /// <summary>
    /// A Reshape target for a Squeeze/Unsqueeze result: static dims by value, a dynamic dim that keeps its position
    /// as 0 (copy), one other dynamic dim as -1.
    /// </summary>
    private static long[] ReshapeTarget(string name, int[] dims, int[] origins)
    {
        var target = new long[origins.Length];
        bool inferred = false;
        for (int i = 0; i < origins.Length; i++)
        {
            int source = origins[i];
            if (source < 0) target[i] = 1;
            else if (dims[source] >= 0) target[i] = dims[source];
            else if (source == i) target[i] = 0;
            else if (!inferred)
            {
                target[i] = -1;
                inferred = true;
            }
            else throw new ModelImportException($"'{name}': more than one dynamic dimension of {Shapes.Format(dims)} moves; TrtEngine cannot express this reshape.");
        }
        return target;
    }

    private Layer ImportPad(OnnxNode node, string name)
    {
        var x = Tensor(node.Inputs[0], name);
        int rank = _network.Dims(x).Length;
        var mode = node.GetString("mode", "constant") switch
        {
            "constant" => PadMode.Constant,
            "reflect" => PadMode.Reflect,
            "edge" => PadMode.Edge,
            var other => throw new ModelImportException($"Pad '{name}': mode '{other}' is not supported (constant, reflect, edge)."),
        };
        long[] pads;
        float value = 0f;
        if (Opset < 11)
        {
            pads = [.. node.GetInts("pads") ?? []];
            value = node.GetFloat("value", 0f);
        }
        else
        {
            pads = KnownIntegers(node, 1, "pads");
            if (Has(node, 2)) value = ConstantFloats(node, 2)[0];
            if (Has(node, 3))
            {
                // Opset 18: pads for the listed axes only.
                long[] axes = KnownIntegers(node, 3, "axes");
                if (pads.Length != 2 * axes.Length) throw new ModelImportException($"Pad '{name}': {pads.Length} pads for {axes.Length} axes.");
                var full = new long[2 * rank];
                for (int i = 0; i < axes.Length; i++)
                {
                    int a = IntegerOps.Axis(axes[i], rank, name);
                    full[a] = pads[i];
                    full[a + rank] = pads[i + axes.Length];
                }
                pads = full;
            }
        }
        if (pads.Length != 2 * rank) throw new ModelImportException($"Pad '{name}': {pads.Length} pads for rank {rank}.");
        return new PadLayer(name, x, mode, pads, value);
    }

    private Layer ImportResize(OnnxNode node, string name)
    {
        var x = Tensor(node.Inputs[0], name);
        int[] dims = _network.Dims(x);
        if (dims.Length != 4) throw new ModelImportException($"{node.OpType} '{name}': input {Shapes.Format(dims)} is not 4-D; TrtEngine resizes NCHW tensors.");
        var mode = node.GetString("mode", "nearest") switch
        {
            "nearest" => ResizeMode.Nearest,
            "linear" => ResizeMode.Linear,
            "cubic" when node.OpType == "Resize" && Opset >= 11 => ResizeMode.Cubic,
            var other => throw new ModelImportException($"{node.OpType} '{name}': mode '{other}' is not supported (nearest, linear, and cubic from Resize-11)."),
        };
        // Only cubic interpolation may exclude the outside (ONNX Runtime refuses it with the others).
        if (node.GetInt("exclude_outside", 0) != 0 && mode != ResizeMode.Cubic)
            throw new ModelImportException($"{node.OpType} '{name}': exclude_outside applies to cubic interpolation only, not to {node.GetString("mode", "nearest")}.");
        bool legacy = node.OpType == "Upsample" || Opset < 11;
        float[] scales = [];
        long[] sizes = [];
        var nearest = NearestMode.Simple;
        var transform = CoordinateTransform.Asymmetric;
        if (legacy)
        {
            scales = node.GetFloats("scales") is { } s ? [.. s] : ConstantFloats(node, 1);
        }
        else
        {
            nearest = node.GetString("nearest_mode", "round_prefer_floor") switch
            {
                "round_prefer_floor" => NearestMode.RoundPreferFloor,
                "round_prefer_ceil" => NearestMode.RoundPreferCeil,
                "floor" => NearestMode.Floor,
                "ceil" => NearestMode.Ceil,
                var other => throw new ModelImportException($"Resize '{name}': nearest_mode '{other}' is unknown."),
            };
            transform = node.GetString("coordinate_transformation_mode", "half_pixel") switch
            {
                "half_pixel" => CoordinateTransform.HalfPixel,
                "asymmetric" => CoordinateTransform.Asymmetric,
                "align_corners" => CoordinateTransform.AlignCorners,
                "pytorch_half_pixel" => CoordinateTransform.PytorchHalfPixel,
                var other => throw new ModelImportException($"Resize '{name}': coordinate_transformation_mode '{other}' is not supported."),
            };
            if (node.GetInt("antialias", 0) != 0) throw new ModelImportException($"Resize '{name}': antialias is not supported.");
            if (Has(node, 2)) scales = ConstantFloats(node, 2);
            if (scales.Length == 0 && Has(node, 3)) sizes = ResizeSizes(node, name, dims);
            // With scales ONNX has no other policy (ONNX Runtime refuses it); with sizes the engine stretches only.
            if (node.GetString("keep_aspect_ratio_policy", "stretch") != "stretch")
                throw new ModelImportException($"Resize '{name}': keep_aspect_ratio_policy other than stretch is not supported.");
            if (node.GetInts("axes") is { } axes)
            {
                // Opset 18: scales or sizes for the listed axes; the others keep their size.
                var fullScales = new float[] { 1, 1, 1, 1 };
                var fullSizes = dims.Select(d => (long)d).ToArray();
                for (int i = 0; i < axes.Count; i++)
                {
                    int a = IntegerOps.Axis(axes[i], 4, name);
                    if (scales.Length > 0) fullScales[a] = scales[i];
                    else fullSizes[a] = sizes[i];
                }
                if (scales.Length > 0) scales = fullScales;
                else sizes = fullSizes;
            }
        }
        if (scales.Length == 0 && sizes.Length == 0) throw new ModelImportException($"{node.OpType} '{name}' has neither scales nor sizes.");
        if ((scales.Length > 0 && scales.Length != 4) || (sizes.Length > 0 && sizes.Length != 4))
            throw new ModelImportException($"{node.OpType} '{name}': needs 4 scales or sizes for input {Shapes.Format(dims)}.");
        if (scales.Length > 0 && (scales[0] != 1f || scales[1] != 1f) || sizes.Length > 0 && (sizes[0] != dims[0] || sizes[1] != dims[1]))
            throw new ModelImportException($"{node.OpType} '{name}': TrtEngine resizes H and W only; N and C must keep their size" +
                (sizes.Length > 0 ? $" (sizes [{string.Join(", ", sizes)}] for an input of {Shapes.Format(dims)}: a fixed size for a dynamic dim would resize it whenever it differs)." : "."));
        // N and C keep the input's (dynamic ones included: opset 18's axes leave them as they are).
        if (sizes.Skip(2).Any(s => s < 0 || s > int.MaxValue)) throw new ModelImportException($"Resize '{name}': sizes [{string.Join(", ", sizes)}] are invalid.");
        return new ResizeLayer(name, x, mode, nearest, transform, scales, sizes.Select(s => (int)s).ToArray(), node.GetFloat("cubic_coeff_a", -0.75f),
            node.GetInt("exclude_outside", 0) != 0);
    }

    /// <summary>
    /// Resize's sizes, known at import but for N and C where the input's are dynamic: exporters write sizes for a
    /// dynamic batch as the input's own N and C (Shape, Slice) beside the new H and W, and those keep their size (as -1,
    /// the input's dynamic dim).
    /// </summary>
    private long[] ResizeSizes(OnnxNode node, string name, int[] dims)
    {
        string input = node.Inputs[3];
        if (!IsInteger(input)) return KnownIntegers(node, 3, "sizes"); // says what is wrong
        long[] sizes = Integer(input, name).Values;
        bool keepsUnknowns = node.GetInts("axes") is null && sizes.Length == dims.Length &&
                             sizes.Select((s, d) => s != IntegerTensor.Unknown || (d < 2 && dims[d] < 0)).All(ok => ok);
        return keepsUnknowns ? sizes.Select((s, d) => s == IntegerTensor.Unknown ? dims[d] : s).ToArray() : KnownIntegers(node, 3, "sizes");
    }

    /// <param name="x">What is reduced: the node's input, or (for a reduction lowered to several layers) a value computed from it.</param>
    private Layer ImportReduce(OnnxNode node, string name, ReduceKind kind, int axesInputOpset, ValueRef? x = null) =>
        new ReduceLayer(name, x ?? Tensor(node.Inputs[0], name), kind, ReduceAxes(node, axesInputOpset) ?? [], node.GetInt("keepdims", 1) != 0,
            node.GetInt("noop_with_empty_axes", 0) != 0);

    /// <summary>A reduction's axes: its attribute before <paramref name="axesInputOpset"/>, its input from then; null where it gives none.</summary>
    private long[]? ReduceAxes(OnnxNode node, int axesInputOpset) =>
        Opset < axesInputOpset ? node.GetInts("axes") is { } a ? [.. a] : null : Has(node, 1) ? KnownIntegers(node, 1, "axes") : null;
}
