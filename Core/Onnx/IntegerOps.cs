using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// The integer operators of shape subgraphs, evaluated at import (ONNX semantics, numpy broadcasting).
/// Unknown elements stay unknown through arithmetic; problems are <see cref="ModelImportException"/>s naming the node.
/// </summary>
internal static class IntegerOps
{
    public static IntegerTensor Binary(string op, IntegerTensor a, IntegerTensor b, string node)
    {
        int[] dims = Broadcast(node, a.Dims, b.Dims);
        var y = new long[CheckedCount(op, node, dims, MaxElements)];
        for (long i = 0; i < y.LongLength; i++)
        {
            long x = a.Values[Source(i, dims, a.Dims)], z = b.Values[Source(i, dims, b.Dims)];
            if (x == IntegerTensor.Unknown || z == IntegerTensor.Unknown)
            {
                y[i] = IntegerTensor.Unknown;
                continue;
            }
            y[i] = op switch
            {
                "Add" => x + z,
                "Sub" => x - z,
                "Mul" => x * z,
                "Div" => z == 0 ? throw new ModelImportException($"{op} '{node}' divides by zero.") : x / z,
                "Mod" or "FMod" when z == 0 => throw new ModelImportException($"Mod '{node}' divides by zero."),
                "FMod" => x % z,
                "Mod" => (x % z + z) % z,
                "Equal" => x == z ? 1 : 0,
                "Less" => x < z ? 1 : 0,
                "Greater" => x > z ? 1 : 0,
                "LessOrEqual" => x <= z ? 1 : 0,
                "GreaterOrEqual" => x >= z ? 1 : 0,
                "And" => x != 0 && z != 0 ? 1 : 0,
                "Or" => x != 0 || z != 0 ? 1 : 0,
                "Xor" => (x != 0) != (z != 0) ? 1 : 0,
                _ => throw new InvalidOperationException($"No integer {op}."),
            };
        }
        return new IntegerTensor(dims, y);
    }

    /// <summary>
    /// Floats cast to an integer type as ONNX Runtime casts them (C++'s static_cast): toward zero, or to 0 and 1 for bool.
    /// A value no 64-bit integer holds (NaN, infinite, too large) has no defined result there, so it is refused.
    /// </summary>
    public static IntegerTensor FromFloats(int[] dims, float[] values, OnnxDataType to, string node)
    {
        // A value beyond the type's range has no defined result either (C++ leaves it undefined; ONNX Runtime's differs by type).
        var (min, max) = to switch
        {
            OnnxDataType.UInt8 => (0.0, byte.MaxValue), OnnxDataType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
            OnnxDataType.UInt16 => (0.0, ushort.MaxValue), OnnxDataType.Int16 => (short.MinValue, short.MaxValue),
            OnnxDataType.UInt32 => (0.0, uint.MaxValue), OnnxDataType.Int32 => (int.MinValue, int.MaxValue),
            OnnxDataType.UInt64 => (0.0, long.MaxValue), OnnxDataType.Int64 or OnnxDataType.Bool => (long.MinValue, long.MaxValue),
            _ => throw new ModelImportException($"Cast '{node}' casts to {to}, which TrtEngine cannot represent; it computes in float32 and 64-bit integers."),
        };
        return new(dims, Array.ConvertAll(values, v => to == OnnxDataType.Bool ? (v != 0 ? 1L : 0L)
            : Math.Truncate(v) >= min && Math.Truncate(v) <= max && v < long.MaxValue ? (long)v
            : throw new ModelImportException($"Cast '{node}': {v} has no {to} value; the shape arithmetic it ends is not valid.")));
    }

    public static IntegerTensor Where(IntegerTensor condition, IntegerTensor a, IntegerTensor b, string node)
    {
        int[] dims = Broadcast(node, Broadcast(node, condition.Dims, a.Dims), b.Dims);
        var y = new long[Count(dims)];
        for (long i = 0; i < y.LongLength; i++)
        {
            long c = condition.Values[Source(i, dims, condition.Dims)];
            y[i] = c == IntegerTensor.Unknown ? c : c != 0 ? a.Values[Source(i, dims, a.Dims)] : b.Values[Source(i, dims, b.Dims)];
        }
        return new IntegerTensor(dims, y);
    }

    public static IntegerTensor Gather(IntegerTensor data, IntegerTensor indices, long axisAttribute, string node)
    {
        int axis = Axis(axisAttribute, data.Dims.Length, node);
        int outer = (int)Count(data.Dims.AsSpan(0, axis)), extent = data.Dims[axis], inner = (int)Count(data.Dims.AsSpan(axis + 1));
        int[] dims = [.. data.Dims[..axis], .. indices.Dims, .. data.Dims[(axis + 1)..]];
        var y = new long[Count(dims)];
        int n = indices.Values.Length, k = 0;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
            {
                long index = indices.Values[j];
                if (index < 0) index += extent;
                if (index < 0 || index >= extent) throw new ModelImportException($"Gather '{node}': index {indices.Values[j]} is out of range for {extent}.");
                Array.Copy(data.Values, ((long)o * extent + index) * inner, y, k, inner);
                k += inner;
            }
        return new IntegerTensor(dims, y);
    }

    public static IntegerTensor Concat(IReadOnlyList<IntegerTensor> inputs, long axisAttribute, string node)
    {
        int rank = inputs[0].Dims.Length;
        int axis = Axis(axisAttribute, rank, node);
        int[] dims = (int[])inputs[0].Dims.Clone();
        dims[axis] = inputs.Sum(t => t.Dims.Length == rank ? t.Dims[axis] : throw new ModelImportException($"Concat '{node}': inputs differ in rank."));
        int outer = (int)Count(dims.AsSpan(0, axis));
        var y = new List<long>();
        for (int o = 0; o < outer; o++)
            foreach (var t in inputs)
            {
                int block = (int)Count(t.Dims.AsSpan(axis));
                y.AddRange(t.Values.AsSpan(o * block, block));
            }
        if (y.Count != Count(dims)) throw new ModelImportException($"Concat '{node}': inputs differ outside axis {axisAttribute}.");
        return new IntegerTensor(dims, [.. y]);
    }

    /// <summary>Slice of a 1-D tensor (shape vectors), with ONNX clamping and negative steps.</summary>
    public static IntegerTensor Slice(IntegerTensor data, long start, long end, long step, string node)
    {
        if (data.Dims.Length != 1) throw new ModelImportException($"Slice '{node}': only 1-D integer tensors are sliced at import, not {Shapes.Format(data.Dims)}.");
        if (step == 0) throw new ModelImportException($"Slice '{node}': step 0.");
        int n = data.Dims[0];
        if (start < 0) start += n;
        if (end < 0) end += n;
        var y = new List<long>();
        if (step > 0)
            for (long i = Math.Clamp(start, 0, n); i < Math.Clamp(end, 0, n); i += step) y.Add(data.Values[i]);
        else
            for (long i = Math.Clamp(start, 0, n - 1); i > Math.Clamp(end, -1, n - 1); i += step) y.Add(data.Values[i]);
        return IntegerTensor.Vector([.. y]);
    }

    public static int Axis(long axis, int rank, string node)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ModelImportException($"'{node}': axis {axis} is out of range for rank {rank}.");
        return (int)a;
    }

    internal static int[] Broadcast(string node, int[] a, int[] b)
    {
        try
        {
            return Shapes.Broadcast(a, b);
        }
        catch (ShapeException e)
        {
            throw new ModelImportException($"'{node}': {e.Message}");
        }
    }

    /// <summary>The flat index in an operand of shape <paramref name="dims"/> broadcast to <paramref name="output"/>.</summary>
    internal static long Source(long flat, int[] output, int[] dims)
    {
        long index = 0, stride = 1;
        for (int d = output.Length - 1, e = dims.Length - 1; d >= 0; d--, e--)
        {
            long coordinate = flat % output[d];
            flat /= output[d];
            if (e < 0) continue;
            if (dims[e] != 1) index += coordinate * stride;
            stride *= dims[e];
        }
        return index;
    }

    private static long Count(ReadOnlySpan<int> dims) => Shapes.ElementCount(dims);

    /// <summary>
    /// Elements an integer tensor made at import may hold: shape arithmetic needs a few, and a small model must not make
    /// the import allocate gigabytes (a ConstantOfShape of [100000, 100000], an integer broadcast of [1, N] by [N, 1]).
    /// </summary>
    public const long MaxElements = 1 << 20;

    /// <summary>The element count of <paramref name="dims"/>, refused above <paramref name="max"/>.</summary>
    public static long CheckedCount(string op, string node, int[] dims, long max)
    {
        double count = dims.Aggregate(1.0, (a, d) => a * d);
        if (count > max)
            throw new ModelImportException($"{op} '{node}' would make a tensor of {Shapes.Format(dims)} at import; TrtEngine makes tensors of up to {max} values there.");
        return (long)count;
    }
}
