using System.Runtime.CompilerServices;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;

namespace TrtEngine.Core.Verification;

/// <summary>
/// Runs a network as the importer produced it — layer by layer, no fusion, no packing, no tactics — with plain
/// loops in float64: the reference a refitted engine is checked against. Slow by design; it is meant for a few inputs.
/// Shapes come from each layer's own shape rule, so the reference agrees with the engine on what every layer means
/// but shares none of its kernels.
/// </summary>
public sealed class ReferenceExecutor
{
    private readonly NetworkDefinition _network;
    private readonly double[][] _weights;

    /// <param name="weights">Values by model weight name that replace the network's own (a refit's new weights); the others keep theirs.</param>
    public ReferenceExecutor(NetworkDefinition network, IReadOnlyDictionary<string, float[]>? weights = null)
    {
        _network = network;
        _weights = network.Weights.Select(w =>
        {
            float[] values = weights is not null && weights.TryGetValue(w.Name, out var v) ? v : w.Values;
            if (values.LongLength != Shapes.ElementCount(w.Shape))
                throw new ArgumentException($"Weight '{w.Name}' has {values.LongLength} values; its shape {Shapes.Format(w.Shape)} needs {Shapes.ElementCount(w.Shape)}.", nameof(weights));
            return Array.ConvertAll(values, x => (double)x);
        }).ToArray();
    }

    /// <summary>
    /// Runs the network on inputs given by name with their shapes; returns every network output by name.
    /// <paramref name="cancel"/> is checked between layers (a large network in float64 runs for seconds).
    /// </summary>
    public IReadOnlyDictionary<string, ReferenceTensor> Run(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> inputs, CancellationToken cancel = default)
    {
        var values = new ReferenceTensor?[_network.Tensors.Count];
        foreach (int t in _network.Inputs)
        {
            string name = _network.Tensors[t].Name;
            if (!inputs.TryGetValue(name, out var input)) throw new ArgumentException($"Input '{name}' of network '{_network.Name}' was not given.", nameof(inputs));
            if (input.Data.LongLength != Shapes.ElementCount(input.Shape))
                throw new ArgumentException($"Input '{name}' has {input.Data.LongLength} values for shape {Shapes.Format(input.Shape)}.", nameof(inputs));
            values[t] = new ReferenceTensor(input.Shape, Array.ConvertAll(input.Data, x => (double)x));
        }
        foreach (var layer in _network.Layers)
        {
            cancel.ThrowIfCancellationRequested();
            var operands = layer.Inputs.Select(v => v.IsNone ? null
                : v.IsWeight ? new ReferenceTensor(_network.Weights[v.Index].Shape, _weights[v.Index])
                : values[v.Index] ?? throw new InvalidOperationException($"{layer} reads tensor {v.Index} before it is computed.")).ToArray();
            int[] shape = layer.InferShape(operands.Select(o => o?.Shape ?? []).ToList());
            values[layer.Output] = Execute(layer, operands, shape);
        }
        return _network.Outputs.ToDictionary(t => _network.Tensors[t].Name, t => values[t]!, StringComparer.Ordinal);
    }

    private static ReferenceTensor Execute(Layer layer, ReferenceTensor?[] x, int[] shape) => layer switch
    {
        GemmLayer gemm => Gemm(gemm, x[0]!, x[1]!, x[2], shape),
        MatMulLayer => MatMul(x[0]!, x[1]!, shape),
        ElementwiseLayer e => Binary(e.Operation, x[0]!, x[1]!, shape),
        SelectLayer => Select(x[0]!, x[1]!, x[2]!, shape),
        GatherLayer g => Gather(g, x[0]!, x[1]!, shape),
        AxisLayer a => AlongAxis(a, x[0]!, shape),
        GatherElementsLayer g => GatherElements(g, x[0]!, x[1]!),
        RecurrentLayer r => Recurrent(r, x, shape),
        ActivationLayer a => Map(x[0]!, shape, v => Activate(a.Activation, v)),
        SoftmaxLayer s => Softmax(s, x[0]!),
        LayerNormLayer n => LayerNorm(n, x[0]!, x[1]!, x[2]),
        ReshapeLayer => new ReferenceTensor(shape, x[0]!.Data),
        ConvLayer conv => Convolution(conv, x[0]!, x[1]!, x[2], x[3], shape),
        ConvTransposeLayer t => ConvTranspose(t, x[0]!, x[1]!, x[2], shape),
        BatchNormLayer bn => BatchNorm(bn, x, shape),
        PoolLayer pool => Pool(pool, x[0]!, shape),
        ConcatLayer concat => Concat(concat, x, shape),
        SliceLayer slice => Slice(slice, x[0]!, shape),
        TransposeLayer transpose => Transpose(transpose, x[0]!, shape),
        PadLayer pad => Pad(pad, x[0]!, shape),
        ResizeLayer resize => Resize(resize, x[0]!, shape),
        ReduceLayer reduce => Reduce(reduce, x[0]!, shape),
        _ => throw new NotSupportedException($"The reference executor has no rule for {layer.Kind} layers ({layer})."),
    };

    private static ReferenceTensor Gemm(GemmLayer g, ReferenceTensor a, ReferenceTensor b, ReferenceTensor? bias, int[] shape)
    {
        int k = g.K, n = g.N, m = g.TransA ? a.Shape[1] : (int)(a.Data.LongLength / k);
        var y = new double[(long)m * n];
        long[]? biasStrides = bias is null ? null : BroadcastStrides(bias.Shape, shape);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (g.TransA ? a.Data[(long)p * m + i] : a.Data[(long)i * k + p]) * (g.TransB ? b.Data[(long)j * k + p] : b.Data[(long)p * n + j]);
                long o = (long)i * n + j;
                double value = g.Alpha * sum + (bias is null ? 0 : g.Beta * bias.Data[Offset(o, shape, biasStrides!)]);
                y[o] = Activate(g.Activation, value);
            }
        return new ReferenceTensor(shape, y);
    }

    /// <summary>numpy matmul: 1-D operands promoted, batch dims broadcast.</summary>
    private static ReferenceTensor MatMul(ReferenceTensor a, ReferenceTensor b, int[] shape)
    {
        int[] a2 = a.Shape.Length == 1 ? [1, a.Shape[0]] : a.Shape, b2 = b.Shape.Length == 1 ? [b.Shape[0], 1] : b.Shape;
        int m = a2[^2], k = a2[^1], n = b2[^1];
        int[] batch = Shapes.Broadcast(a2.AsSpan(0, a2.Length - 2), b2.AsSpan(0, b2.Length - 2));
        long[] aStrides = BroadcastStrides(a2[..^2], batch), bStrides = BroadcastStrides(b2[..^2], batch);
        long batches = Shapes.ElementCount(batch);
        var y = new double[batches * m * n];
        for (long t = 0; t < batches; t++)
        {
            long aBase = Offset(t, batch, aStrides) * m * k, bBase = Offset(t, batch, bStrides) * k * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++) sum += a.Data[aBase + (long)i * k + p] * b.Data[bBase + (long)p * n + j];
                    y[(t * m + i) * n + j] = sum;
                }
        }
        return new ReferenceTensor(shape, y);
    }

    private static ReferenceTensor Binary(BinaryOp op, ReferenceTensor a, ReferenceTensor b, int[] shape)
    {
        long[] sa = BroadcastStrides(a.Shape, shape), sb = BroadcastStrides(b.Shape, shape);
        var y = new double[Shapes.ElementCount(shape)];
        for (long i = 0; i < y.LongLength; i++)
        {
            double u = a.Data[Offset(i, shape, sa)], v = b.Data[Offset(i, shape, sb)];
            y[i] = op switch
            {
                BinaryOp.Add => u + v,
                BinaryOp.Sub => u - v,
                BinaryOp.Mul => u * v,
                BinaryOp.Div => u / v,
                BinaryOp.Max => double.IsNaN(u) || double.IsNaN(v) ? double.NaN : Math.Max(u, v),
                BinaryOp.Min => double.IsNaN(u) || double.IsNaN(v) ? double.NaN : Math.Min(u, v),
                BinaryOp.Pow => Math.Pow(u, v),
                BinaryOp.Equal => u == v ? 1 : 0,
                BinaryOp.NotEqual => u != v ? 1 : 0,
                BinaryOp.Less => u < v ? 1 : 0,
                BinaryOp.LessOrEqual => u <= v ? 1 : 0,
                _ => throw new NotSupportedException($"The reference executor has no rule for {op}."),
            };
        }
        return new ReferenceTensor(shape, y);
    }

    private static ReferenceTensor Gather(GatherLayer g, ReferenceTensor data, ReferenceTensor indices, int[] shape)
    {
        int axis = Shapes.NormalizeAxis(g.Axis, data.Shape.Length, "Gather", g.Name), length = data.Shape[axis];
        long outer = Shapes.ElementCount(data.Shape.AsSpan(0, axis)), inner = Shapes.ElementCount(data.Shape.AsSpan(axis + 1)), count = indices.Data.LongLength;
        var y = new double[Shapes.ElementCount(shape)];
        for (long o = 0; o < outer; o++)
            for (long j = 0; j < count; j++)
            {
                double index = indices.Data[j];
                if (index != Math.Floor(index) || index < -length || index >= length)
                    throw new ArgumentException($"Gather '{g.Name}': index {index} is not an integer in [{-length}, {length - 1}].");
                long row = index < 0 ? (long)index + length : (long)index;
                Array.Copy(data.Data, (o * length + row) * inner, y, (o * count + j) * inner, inner);
            }
        return new ReferenceTensor(shape, y);
    }

    /// <summary>LSTM and GRU by ONNX's equations, step by step in float64.</summary>
    private static ReferenceTensor Recurrent(RecurrentLayer layer, ReferenceTensor?[] x, int[] shape)
    {
        var (input, w, r, b) = (x[0]!, x[1]!, x[2]!, x[3]);
        bool lstm = layer.Cell == RecurrentCell.Lstm;
        int steps = input.Shape[0], batch = input.Shape[1], size = input.Shape[2], hidden = layer.HiddenSize, gates = lstm ? 4 : 3;
        int directions = layer.Bidirectional ? 2 : 1;
        var y = new double[Shapes.ElementCount(shape)];
        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
        for (int d = 0; d < directions; d++)
            for (int n = 0; n < batch; n++)
            {
                // A state's row of [directions, batch, hidden].
                long State(int dir, int row) => ((long)dir * batch + row) * hidden;
                double[] h = new double[hidden], c = new double[hidden];
                if (x[4] is { } h0) Array.Copy(h0.Data, State(d, n), h, 0, hidden);
                if (x[5] is { } c0) Array.Copy(c0.Data, State(d, n), c, 0, hidden);
                double Row(ReferenceTensor m, int gate, int columns, Func<int, double> v)
                {
                    double sum = 0;
                    for (int k = 0; k < columns; k++) sum += m.Data[((long)d * gates * hidden + gate) * columns + k] * v(k);
                    return sum;
                }
                double Bias(int gate, bool recurrent) => b is null ? 0 : b.Data[(long)d * 2 * gates * hidden + (recurrent ? gates * hidden : 0) + gate];
                for (int step = 0; step < steps; step++)
                {
                    int t = layer.Reverse || d == 1 ? steps - 1 - step : step;
                    long xAt = ((long)t * batch + n) * size;
                    double X(int k) => input.Data[xAt + k];
                    double Gate(int gate) => Row(w, gate, size, X) + Bias(gate, false) + Row(r, gate, hidden, k => h[k]) + Bias(gate, true);
                    var next = new double[hidden];
                    for (int j = 0; j < hidden; j++)
                    {
                        if (lstm)
                        {
                            double i = Sigmoid(Gate(j)), o = Sigmoid(Gate(hidden + j)), f = Sigmoid(Gate(2 * hidden + j)), g = Math.Tanh(Gate(3 * hidden + j));
                            c[j] = f * c[j] + i * g;
                            next[j] = o * Math.Tanh(c[j]);
                            continue;
                        }
                        double z = Sigmoid(Gate(j)), candidate = Row(w, 2 * hidden + j, size, X) + Bias(2 * hidden + j, false);
                        candidate += layer.LinearBeforeReset
                            ? Sigmoid(Gate(hidden + j)) * (Row(r, 2 * hidden + j, hidden, k => h[k]) + Bias(2 * hidden + j, true))
                            : Row(r, 2 * hidden + j, hidden, k => Sigmoid(Gate(hidden + k)) * h[k]) + Bias(2 * hidden + j, true);
                        next[j] = (1 - z) * Math.Tanh(candidate) + z * h[j];
                    }
                    h = next;
                    if (layer.Which == RecurrentOutput.Sequence)
                        Array.Copy(h, 0, y, (((long)t * directions + d) * batch + n) * hidden, hidden);
                }
                if (layer.Which != RecurrentOutput.Sequence) Array.Copy(layer.Which == RecurrentOutput.Hidden ? h : c, 0, y, State(d, n), hidden);
            }
        return new ReferenceTensor(shape, y);
    }

    private static ReferenceTensor GatherElements(GatherElementsLayer g, ReferenceTensor data, ReferenceTensor indices)
    {
        int axis = Shapes.NormalizeAxis(g.Axis, data.Shape.Length, "GatherElements", g.Name), length = data.Shape[axis];
        var y = new double[indices.Data.LongLength];
        var position = new int[indices.Shape.Length];
        for (long j = 0; j < y.LongLength; j++)
        {
            long rest = j, offset = 0, stride = 1;
            for (int d = position.Length - 1; d >= 0; d--)
            {
                position[d] = (int)(rest % indices.Shape[d]);
                rest /= indices.Shape[d];
            }
            for (int d = position.Length - 1; d >= 0; d--)
            {
                double index = indices.Data[j];
                if (d == axis && (index != Math.Floor(index) || index < -length || index >= length))
                    throw new ArgumentException($"GatherElements '{g.Name}': index {index} is not an integer in [{-length}, {length - 1}].");
                offset += (d == axis ? (long)(index < 0 ? index + length : index) : position[d]) * stride;
                stride *= data.Shape[d];
            }
            y[j] = data.Data[offset];
        }
        return new ReferenceTensor(indices.Shape, y);
    }

    /// <summary>ArgMax, ArgMin (the first or last extreme, NaN never chosen over a number), CumSum (summed in float64) and TopK's indices (a stable sort) by their definitions.</summary>
    private static ReferenceTensor AlongAxis(AxisLayer a, ReferenceTensor x, int[] shape)
    {
        int axis = Shapes.NormalizeAxis(a.Axis, x.Shape.Length, a.Operation.ToString(), a.Name), length = x.Shape[axis];
        long outer = Shapes.ElementCount(x.Shape.AsSpan(0, axis)), inner = Shapes.ElementCount(x.Shape.AsSpan(axis + 1));
        var y = new double[Shapes.ElementCount(shape)];
        for (long o = 0; o < outer; o++)
            for (long i = 0; i < inner; i++)
            {
                double At(long k) => x.Data[(o * length + k) * inner + i];
                if (a.Operation is AxisOperation.TopKLargest or AxisOperation.TopKSmallest)
                {
                    // NaN as larger than every number: first of the largest, last of the smallest.
                    bool largest = a.Operation == AxisOperation.TopKLargest;
                    var ranked = Enumerable.Range(0, length).OrderBy(k => double.IsNaN(At(k)) != largest)
                        .ThenBy(k => largest ? -At(k) : At(k)).ThenBy(k => k).Take(a.Count).ToArray();
                    for (int j = 0; j < ranked.Length; j++) y[(o * a.Count + j) * inner + i] = ranked[j];
                    continue;
                }
                if (a.Operation == AxisOperation.CumSum)
                {
                    double sum = 0;
                    foreach (long k in a.Last ? Enumerable.Range(0, length).Select(j => (long)(length - 1 - j)) : Enumerable.Range(0, length).Select(j => (long)j))
                    {
                        if (!a.Exclusive) sum += At(k);
                        y[(o * length + k) * inner + i] = sum;
                        if (a.Exclusive) sum += At(k);
                    }
                    continue;
                }
                long best = 0;
                for (long k = 1; k < length; k++)
                {
                    double v = At(k), current = At(best);
                    bool better = a.Operation == AxisOperation.ArgMin ? v < current : v > current;
                    if (better || a.Last && v == current || double.IsNaN(current) && !double.IsNaN(v)) best = k;
                }
                y[o * inner + i] = best;
            }
        return new ReferenceTensor(shape, y);
    }

    private static ReferenceTensor Select(ReferenceTensor c, ReferenceTensor a, ReferenceTensor b, int[] shape)
    {
        long[] sc = BroadcastStrides(c.Shape, shape), sa = BroadcastStrides(a.Shape, shape), sb = BroadcastStrides(b.Shape, shape);
        var y = new double[Shapes.ElementCount(shape)];
        for (long i = 0; i < y.LongLength; i++)
            y[i] = c.Data[Offset(i, shape, sc)] != 0 ? a.Data[Offset(i, shape, sa)] : b.Data[Offset(i, shape, sb)];
        return new ReferenceTensor(shape, y);
    }

    private static ReferenceTensor Map(ReferenceTensor x, int[] shape, Func<double, double> f) => new(shape, Array.ConvertAll(x.Data, v => f(v)));

    /// <summary>The activations by their definitions (ONNX attributes already resolved into the Activation).</summary>
    private static double Activate(Activation a, double x) => a.Kind switch
    {
        ActivationKind.Identity => x,
        ActivationKind.Relu => x < 0 ? 0 : x,
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        ActivationKind.Tanh => Math.Tanh(x),
        ActivationKind.Erf => ReferenceMath.Erf(x),
        ActivationKind.Gelu => 0.5 * x * (1 + ReferenceMath.Erf(x / Math.Sqrt(2))),
        ActivationKind.Clip => double.IsNaN(x) ? x : Math.Min(Math.Max(x, a.Alpha), a.Beta),
        ActivationKind.LeakyRelu => x < 0 ? x * a.Alpha : x,
        ActivationKind.HardSigmoid => double.IsNaN(x) ? x : Math.Min(Math.Max(a.Alpha * x + a.Beta, 0), 1),
        ActivationKind.HardSwish => double.IsNaN(x) ? x : x * Math.Min(Math.Max(x / 6 + 0.5, 0), 1),
        ActivationKind.Exp => Math.Exp(x),
        ActivationKind.Neg => -x,
        ActivationKind.Abs => Math.Abs(x),
        ActivationKind.Sqrt => Math.Sqrt(x),
        ActivationKind.Reciprocal => 1 / x,
        ActivationKind.Elu => x >= 0 ? x : a.Alpha * (Math.Exp(x) - 1),
        ActivationKind.Selu => a.Beta * (x > 0 ? x : a.Alpha * (Math.Exp(x) - 1)),
        ActivationKind.Softplus => Softplus(x),
        ActivationKind.Softsign => x / (1 + Math.Abs(x)),
        ActivationKind.Log => Math.Log(x),
        ActivationKind.Mish => x * Math.Tanh(Softplus(x)),
        ActivationKind.Floor => Math.Floor(x),
        ActivationKind.Ceil => Math.Ceiling(x),
        ActivationKind.Round => Math.Round(x, MidpointRounding.ToEven),
        ActivationKind.Sign => double.IsNaN(x) ? x : Math.Sign(x),
        ActivationKind.Sin => Math.Sin(x),
        ActivationKind.Cos => Math.Cos(x),
        _ => throw new NotSupportedException($"The reference executor has no rule for the {a.Kind} activation."),
    };

    private static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    private static ReferenceTensor LayerNorm(LayerNormLayer layer, ReferenceTensor x, ReferenceTensor scale, ReferenceTensor? bias)
    {
        int axis = layer.Axis < 0 ? layer.Axis + x.Shape.Length : layer.Axis;
        long n = Shapes.ElementCount(x.Shape.AsSpan(axis));
        var y = new double[x.Data.LongLength];
        for (long start = 0; start < y.LongLength; start += n)
        {
            double mean = 0, variance = 0;
            for (long j = 0; j < n; j++) mean += x.Data[start + j];
            mean /= n;
            for (long j = 0; j < n; j++) variance += (x.Data[start + j] - mean) * (x.Data[start + j] - mean);
            double inverse = 1 / Math.Sqrt(variance / n + layer.Epsilon);
            for (long j = 0; j < n; j++) y[start + j] = (x.Data[start + j] - mean) * inverse * scale.Data[j] + (bias?.Data[j] ?? 0);
        }
        return new ReferenceTensor(x.Shape, y);
    }

    private static ReferenceTensor Softmax(SoftmaxLayer s, ReferenceTensor x)
    {
        int[] shape = x.Shape;
        int axis = s.Axis < 0 ? s.Axis + shape.Length : s.Axis;
        long outer = Shapes.ElementCount(shape.AsSpan(0, axis));
        long n = s.FlattenTrailing ? Shapes.ElementCount(shape.AsSpan(axis)) : shape[axis];
        long inner = s.FlattenTrailing ? 1 : Shapes.ElementCount(shape.AsSpan(axis + 1));
        var y = new double[x.Data.LongLength];
        for (long o = 0; o < outer; o++)
            for (long i = 0; i < inner; i++)
            {
                long start = o * n * inner + i;
                double max = double.NegativeInfinity, sum = 0;
                for (long j = 0; j < n; j++) max = Math.Max(max, x.Data[start + j * inner]);
                for (long j = 0; j < n; j++) sum += y[start + j * inner] = Math.Exp(x.Data[start + j * inner] - max);
                for (long j = 0; j < n; j++) y[start + j * inner] /= sum;
            }
        return new ReferenceTensor(shape, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops run once per layer: no time to tier up
    private static ReferenceTensor Convolution(ConvLayer c, ReferenceTensor x, ReferenceTensor w, ReferenceTensor? bias, ReferenceTensor? residual, int[] shape)
    {
        int batch = x.Shape[0], channels = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int outC = shape[1], outH = shape[2], outW = shape[3], kh = c.KernelH, kw = c.KernelW;
        int top = WindowShape.Compute(h, kh, c.Strides[0], c.Dilations[0], c.Pads[0], c.Pads[2], c.AutoPad, false, c.Name).PadBegin;
        int left = WindowShape.Compute(wd, kw, c.Strides[1], c.Dilations[1], c.Pads[1], c.Pads[3], c.AutoPad, false, c.Name).PadBegin;
        int inPerGroup = channels / c.Groups, outPerGroup = outC / c.Groups;
        long plane = (long)outH * outW;
        var y = new double[Shapes.ElementCount(shape)];
        // Each output element sums bias, then input channel by kernel row by kernel column, in that order; the loops
        // run over whole output planes per weight so the reference stays fast enough for real models.
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outC; o++)
            {
                long yBase = ((long)n * outC + o) * plane;
                Array.Fill(y, bias?.Data[o] ?? 0, (int)yBase, (int)plane);
                for (int ci = 0; ci < inPerGroup; ci++)
                {
                    long xBase = ((long)n * channels + o / outPerGroup * inPerGroup + ci) * h * wd;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            double weight = w.Data[(((long)o * inPerGroup + ci) * kh + ky) * kw + kx];
                            for (int oy = 0; oy < outH; oy++)
                            {
                                int iy = oy * c.Strides[0] - top + ky * c.Dilations[0];
                                if (iy < 0 || iy >= h) continue;
                                long xRow = xBase + (long)iy * wd, yRow = yBase + (long)oy * outW;
                                for (int ox = 0; ox < outW; ox++)
                                {
                                    int ix = ox * c.Strides[1] - left + kx * c.Dilations[1];
                                    if (ix >= 0 && ix < wd) y[yRow + ox] += weight * x.Data[xRow + ix];
                                }
                            }
                        }
                }
                for (long i = yBase; i < yBase + plane; i++) y[i] = Activate(c.Activation, y[i] + (residual?.Data[i] ?? 0));
            }
        return new ReferenceTensor(shape, y);
    }

    /// <summary>Each input pixel scatters its kernel-weighted value into the output.</summary>
    private static ReferenceTensor ConvTranspose(ConvTransposeLayer c, ReferenceTensor x, ReferenceTensor w, ReferenceTensor? bias, int[] shape)
    {
        int batch = x.Shape[0], channels = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int outC = shape[1], outH = shape[2], outW = shape[3], kh = w.Shape[2], kw = w.Shape[3];
        int perGroupOut = w.Shape[1], perGroupIn = channels / c.Groups;
        var y = new double[Shapes.ElementCount(shape)];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outC; o++)
                Array.Fill(y, bias?.Data[o] ?? 0, (n * outC + o) * outH * outW, outH * outW);
        for (int n = 0; n < batch; n++)
            for (int ic = 0; ic < channels; ic++)
                for (int iy = 0; iy < h; iy++)
                    for (int ix = 0; ix < wd; ix++)
                    {
                        double v = x.Data[(((long)n * channels + ic) * h + iy) * wd + ix];
                        for (int oc = 0; oc < perGroupOut; oc++)
                        {
                            int o = ic / perGroupIn * perGroupOut + oc;
                            for (int ky = 0; ky < kh; ky++)
                            {
                                int oy = iy * c.Strides[0] - c.Pads[0] + ky * c.Dilations[0];
                                if (oy < 0 || oy >= outH) continue;
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int ox = ix * c.Strides[1] - c.Pads[1] + kx * c.Dilations[1];
                                    if (ox < 0 || ox >= outW) continue;
                                    y[(((long)n * outC + o) * outH + oy) * outW + ox] += v * w.Data[(((long)ic * perGroupOut + oc) * kh + ky) * kw + kx];
                                }
                            }
                        }
                    }
        return new ReferenceTensor(shape, y);
    }

    private static ReferenceTensor BatchNorm(BatchNormLayer bn, ReferenceTensor?[] x, int[] shape)
    {
        double[] data = x[0]!.Data, gamma = x[1]!.Data, beta = x[2]!.Data, mean = x[3]!.Data, variance = x[4]!.Data;
        long plane = Shapes.ElementCount(shape.AsSpan(2));
        int channels = shape[1];
        var y = new double[data.LongLength];
        for (long start = 0; start < y.LongLength; start += plane)
        {
            int c = (int)(start / plane % channels);
            double deviation = Math.Sqrt(variance[c] + bn.Epsilon);
            for (long i = start; i < start + plane; i++) y[i] = (data[i] - mean[c]) * gamma[c] / deviation + beta[c];
        }
        return new ReferenceTensor(shape, y);
    }

    /// <summary>
    /// Max or average over each window; pads never win a max. An average divides by the real input positions, or with
    /// count_include_pad by the positions inside the padded extent (a ceil_mode overhang beyond it is not counted).
    /// </summary>
    private static ReferenceTensor Pool(PoolLayer p, ReferenceTensor x, int[] shape)
    {
        int planes = x.Shape[0] * x.Shape[1];
        if (p.Global)
        {
            long size = Shapes.ElementCount(x.Shape.AsSpan(2));
            var g = new double[planes];
            for (int i = 0; i < planes; i++)
            {
                var plane = x.Data.AsSpan((int)(i * size), (int)size);
                double acc = p.PoolKind == PoolKind.Max ? double.NegativeInfinity : 0;
                foreach (double v in plane) acc = p.PoolKind == PoolKind.Max ? Math.Max(acc, v) : acc + v;
                g[i] = p.PoolKind == PoolKind.Max ? acc : acc / size;
            }
            return new ReferenceTensor(shape, g);
        }
        int h = x.Shape[2], wd = x.Shape[3], outH = shape[2], outW = shape[3];
        var (_, top, bottom) = WindowShape.Compute(h, p.Kernel[0], p.Strides[0], p.Dilations[0], p.Pads[0], p.Pads[2], p.AutoPad, p.CeilMode, p.Name);
        var (_, left, right) = WindowShape.Compute(wd, p.Kernel[1], p.Strides[1], p.Dilations[1], p.Pads[1], p.Pads[3], p.AutoPad, p.CeilMode, p.Name);
        var y = new double[Shapes.ElementCount(shape)];
        for (int plane = 0; plane < planes; plane++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    double acc = p.PoolKind == PoolKind.Max ? double.NegativeInfinity : 0;
                    int inside = 0, padded = 0;
                    for (int ky = 0; ky < p.Kernel[0]; ky++)
                        for (int kx = 0; kx < p.Kernel[1]; kx++)
                        {
                            int iy = oy * p.Strides[0] - top + ky * p.Dilations[0], ix = ox * p.Strides[1] - left + kx * p.Dilations[1];
                            if (iy < h + bottom && ix < wd + right) padded++;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            double v = x.Data[((long)plane * h + iy) * wd + ix];
                            acc = p.PoolKind == PoolKind.Max ? Math.Max(acc, v) : acc + v;
                            inside++;
                        }
                    y[((long)plane * outH + oy) * outW + ox] = p.PoolKind == PoolKind.Max ? acc : acc / (p.CountIncludePad ? padded : inside);
                }
        return new ReferenceTensor(shape, y);
    }

    private static ReferenceTensor Concat(ConcatLayer c, ReferenceTensor?[] x, int[] shape)
    {
        int axis = c.Axis < 0 ? c.Axis + shape.Length : c.Axis;
        long outer = Shapes.ElementCount(shape.AsSpan(0, axis)), inner = Shapes.ElementCount(shape.AsSpan(axis + 1));
        var y = new double[Shapes.ElementCount(shape)];
        long offset = 0;
        foreach (var t in x)
        {
            long block = t!.Shape[axis] * inner;
            for (long o = 0; o < outer; o++) Array.Copy(t.Data, o * block, y, o * shape[axis] * inner + offset, block);
            offset += block;
        }
        return new ReferenceTensor(shape, y);
    }

    /// <summary>ONNX Slice: start and end counted from the end when negative, clamped, walked by step.</summary>
    private static ReferenceTensor Slice(SliceLayer s, ReferenceTensor x, int[] shape)
    {
        int rank = x.Shape.Length;
        var start = new long[rank];
        var step = Enumerable.Repeat(1L, rank).ToArray();
        for (int i = 0; i < s.Axes.Length; i++)
        {
            int axis = (int)(s.Axes[i] < 0 ? s.Axes[i] + rank : s.Axes[i]);
            long dim = x.Shape[axis], first = s.Starts[i] < 0 ? s.Starts[i] + dim : s.Starts[i];
            start[axis] = s.Steps[i] > 0 ? Math.Clamp(first, 0, dim) : Math.Clamp(first, 0, dim - 1);
            step[axis] = s.Steps[i];
        }
        long[] strides = Shapes.Strides(x.Shape);
        return Gather(shape, (index, d) => (start[d] + index * step[d]) * strides[d], x.Data);
    }

    private static ReferenceTensor Transpose(TransposeLayer t, ReferenceTensor x, int[] shape)
    {
        long[] strides = Shapes.Strides(x.Shape);
        return Gather(shape, (index, d) => index * strides[t.Perm[d]], x.Data);
    }

    private static ReferenceTensor Pad(PadLayer p, ReferenceTensor x, int[] shape)
    {
        int rank = shape.Length;
        long[] strides = Shapes.Strides(x.Shape);
        var y = new double[Shapes.ElementCount(shape)];
        var index = new long[rank];
        for (long o = 0; o < y.LongLength; o++)
        {
            Unravel(o, shape, index);
            long source = 0;
            bool constant = false;
            for (int d = 0; d < rank && !constant; d++)
            {
                long i = index[d] - p.Pads[d], n = x.Shape[d];
                if (i < 0 || i >= n)
                {
                    if (p.Mode == PadMode.Constant) constant = true;
                    else if (p.Mode == PadMode.Edge) i = Math.Clamp(i, 0, n - 1);
                    else
                        while (i < 0 || i >= n) i = n == 1 ? 0 : i < 0 ? -i : 2 * (n - 1) - i;
                }
                source += i * strides[d];
            }
            y[o] = constant ? p.Value : x.Data[source];
        }
        return new ReferenceTensor(shape, y);
    }

    /// <summary>
    /// ONNX Resize over H and W. Source coordinates are the engine's (<see cref="ResizeLayer.SourceCoordinate"/>), so
    /// nearest-pixel ties pick the pixel ONNX Runtime picks; the rest is double.
    /// </summary>
    private static ReferenceTensor Resize(ResizeLayer r, ReferenceTensor x, int[] shape)
    {
        int inH = x.Shape[2], inW = x.Shape[3], outH = shape[2], outW = shape[3];
        var y = new double[Shapes.ElementCount(shape)];
        long planes = (long)shape[0] * shape[1];
        Span<float> rowWeights = stackalloc float[4], columnWeights = stackalloc float[4];
        for (long plane = 0; plane < planes; plane++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    double sy = r.SourceCoordinate(oy, 2, inH, outH), sx = r.SourceCoordinate(ox, 3, inW, outW);
                    double Pixel(long iy, long ix) => x.Data[(plane * inH + iy) * inW + ix];
                    double value;
                    if (r.Mode == ResizeMode.Nearest)
                        value = Pixel(NearestIndex(r.Nearest, sy, (double)outH / inH, inH), NearestIndex(r.Nearest, sx, (double)outW / inW, inW));
                    else if (r.Mode == ResizeMode.Cubic)
                    {
                        // The layer's taps (their float32 weights are ONNX Runtime's), summed in float64.
                        int top = r.CubicTaps((float)sy, inH, rowWeights), left = r.CubicTaps((float)sx, inW, columnWeights);
                        value = 0;
                        for (int i = 0; i < 4; i++)
                            for (int j = 0; j < 4; j++)
                                value += (double)rowWeights[i] * columnWeights[j] * Pixel(Math.Clamp(top + i, 0, inH - 1), Math.Clamp(left + j, 0, inW - 1));
                    }
                    else
                    {
                        sy = Math.Clamp(sy, 0, inH - 1);
                        sx = Math.Clamp(sx, 0, inW - 1);
                        int y0 = (int)sy, x0 = (int)sx, y1 = Math.Min(y0 + 1, inH - 1), x1 = Math.Min(x0 + 1, inW - 1);
                        // Taps that are both the last pixel weigh ½ each, as the engine's and ONNX Runtime's (∞·0 would be NaN).
                        double wy = y0 == y1 ? 0.5 : sy - y0, wx = x0 == x1 ? 0.5 : sx - x0;
                        value = (Pixel(y0, x0) * (1 - wx) + Pixel(y0, x1) * wx) * (1 - wy) + (Pixel(y1, x0) * (1 - wx) + Pixel(y1, x1) * wx) * wy;
                    }
                    y[(plane * outH + oy) * outW + ox] = value;
                }
        return new ReferenceTensor(shape, y);
    }

    private static long NearestIndex(NearestMode mode, double s, double scale, int input)
    {
        bool tie = s == Math.Floor(s) + 0.5;
        double r = mode switch
        {
            NearestMode.RoundPreferFloor => tie ? Math.Floor(s) : Math.Round(s, MidpointRounding.AwayFromZero),
            NearestMode.RoundPreferCeil => tie ? Math.Ceiling(s) : Math.Round(s, MidpointRounding.AwayFromZero),
            NearestMode.Floor => Math.Floor(s),
            NearestMode.Ceil => Math.Ceiling(s),
            _ => scale < 1 ? Math.Ceiling(s) : Math.Truncate(s),
        };
        return (long)Math.Clamp(r, 0, input - 1);
    }

    private static ReferenceTensor Reduce(ReduceLayer r, ReferenceTensor x, int[] shape)
    {
        int rank = x.Shape.Length;
        var reduced = new bool[rank];
        foreach (long axis in r.Axes) reduced[axis < 0 ? axis + rank : axis] = true;
        if (r.Axes.Length == 0 && !r.NoopWithEmptyAxes) Array.Fill(reduced, true);
        // The output index of an input element: its kept dims, in order.
        int[] kept = Enumerable.Range(0, rank).Where(d => !reduced[d]).ToArray();
        int[] keptShape = kept.Select(d => x.Shape[d]).ToArray();
        long[] keptStrides = Shapes.Strides(keptShape);
        long outputs = Shapes.ElementCount(shape), count = x.Data.LongLength / Math.Max(1, outputs);
        var acc = new double[outputs];
        if (r.Reduction == ReduceKind.Max) Array.Fill(acc, double.NegativeInfinity);
        var index = new long[rank];
        for (long i = 0; i < x.Data.LongLength; i++)
        {
            Unravel(i, x.Shape, index);
            long o = 0;
            for (int k = 0; k < kept.Length; k++) o += index[kept[k]] * keptStrides[k];
            acc[o] = r.Reduction == ReduceKind.Max ? Math.Max(acc[o], x.Data[i]) : acc[o] + x.Data[i];
        }
        if (r.Reduction == ReduceKind.Mean)
            for (long o = 0; o < outputs; o++) acc[o] = count == 0 ? double.NaN : acc[o] / count;
        return new ReferenceTensor(shape, acc);
    }

    /// <summary>A tensor of the given shape whose element at index i reads source[Σ offset(i_d, d)].</summary>
    private static ReferenceTensor Gather(int[] shape, Func<long, int, long> offset, double[] source)
    {
        var y = new double[Shapes.ElementCount(shape)];
        var index = new long[shape.Length];
        for (long o = 0; o < y.LongLength; o++)
        {
            Unravel(o, shape, index);
            long at = 0;
            for (int d = 0; d < shape.Length; d++) at += offset(index[d], d);
            y[o] = source[at];
        }
        return new ReferenceTensor(shape, y);
    }

    /// <summary>Strides of an operand laid against a broadcast output shape: 0 along the dims it broadcasts over.</summary>
    private static long[] BroadcastStrides(int[] operand, int[] output)
    {
        var strides = new long[output.Length];
        long stride = 1;
        for (int d = operand.Length - 1; d >= 0; d--)
        {
            strides[output.Length - operand.Length + d] = operand[d] == 1 ? 0 : stride;
            stride *= operand[d];
        }
        return strides;
    }

    private static long Offset(long flat, int[] shape, long[] strides)
    {
        long offset = 0;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            offset += flat % shape[d] * strides[d];
            flat /= shape[d];
        }
        return offset;
    }

    private static void Unravel(long flat, int[] shape, long[] index)
    {
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
    }
}
