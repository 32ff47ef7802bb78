namespace TrtEngine.Native.Network;

/// <summary>Output shapes of the shape-changing operations, for the network (dims may be dynamic, -1) and for the runtime (concrete).</summary>
public static class ShapeInference
{
    /// <summary>ONNX MatMul: 1-D operands are promoted then the added dimension dropped; batch dims broadcast.</summary>
    public static int[] MatMul(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        if (a.Length == 0 || b.Length == 0) throw new ShapeException("MatMul needs operands of rank 1 or more.");
        int[] a2 = a.Length == 1 ? [1, a[0]] : a.ToArray();
        int[] b2 = b.Length == 1 ? [b[0], 1] : b.ToArray();
        int k1 = a2[^1], k2 = b2[^2];
        if (k1 >= 0 && k2 >= 0 && k1 != k2)
            throw new ShapeException($"MatMul of {Shapes.Format(a)} and {Shapes.Format(b)}: inner dimensions {k1} and {k2} differ.");
        int[] batch = Shapes.Broadcast(a2.AsSpan(0, a2.Length - 2), b2.AsSpan(0, b2.Length - 2));
        var y = new List<int>(batch);
        if (a.Length > 1) y.Add(a2[^2]);
        if (b.Length > 1) y.Add(b2[^1]);
        return [.. y];
    }

    /// <summary>ONNX Reshape: 0 copies the input dim (unless allowZero), one -1 is inferred.</summary>
    public static int[] Reshape(ReadOnlySpan<int> input, ReadOnlySpan<long> spec, bool allowZero) => Reshape(input, spec, allowZero, []);

    /// <summary>
    /// As <see cref="Reshape(ReadOnlySpan{int}, ReadOnlySpan{long}, bool)"/>, where target dim i may copy input dim
    /// <paramref name="sources"/>[i] from another position (−1: none; a dim only the run time knows, as attention's head
    /// split moves its length).
    /// </summary>
    public static int[] Reshape(ReadOnlySpan<int> input, ReadOnlySpan<long> spec, bool allowZero, ReadOnlySpan<int> sources)
    {
        var y = new int[spec.Length];
        Span<bool> copiedIn = stackalloc bool[input.Length], copiedOut = stackalloc bool[spec.Length];
        int inferred = -1;
        for (int i = 0; i < spec.Length; i++)
        {
            long s = spec[i];
            if (i < sources.Length && sources[i] >= 0)
            {
                if (sources[i] >= input.Length || copiedIn[sources[i]]) throw new ShapeException($"Reshape target {FormatSpec(spec)} copies dimension {sources[i]} of {Shapes.Format(input)}, which it has not or copies twice.");
                y[i] = input[sources[i]];
                (copiedIn[sources[i]], copiedOut[i]) = (true, true);
            }
            else if (s == -1)
            {
                if (inferred >= 0) throw new ShapeException($"Reshape target {FormatSpec(spec)} has more than one -1.");
                inferred = i;
            }
            else if (s == 0 && !allowZero)
            {
                if (i >= input.Length) throw new ShapeException($"Reshape target {FormatSpec(spec)} copies dimension {i} of {Shapes.Format(input)}, which has no such dimension.");
                y[i] = input[i];
                (copiedIn[i], copiedOut[i]) = (true, true);
            }
            else if (s < 0 || s > int.MaxValue) throw new ShapeException($"Reshape target {FormatSpec(spec)} has an invalid dimension {s}.");
            else y[i] = (int)s;
        }
        if (inferred >= 0)
        {
            // The dims a 0 copies cancel out of both sides, so the −1 is static where every dynamic dim is such a copy
            // ([?, 8, 8, 8] to [0, 8, −1] is [?, 8, 64] whatever the batch).
            long total = 1, rest = 1;
            bool known = true;
            for (int i = 0; i < Math.Max(input.Length, y.Length); i++)
            {
                if (i < input.Length && !copiedIn[i])
                {
                    if (input[i] < 0) known = false;
                    else total = checked(total * input[i]);
                }
                if (i < y.Length && i != inferred && !copiedOut[i])
                {
                    if (y[i] < 0) known = false;
                    else rest = checked(rest * y[i]);
                }
            }
            if (!known) y[inferred] = Shapes.Dynamic;
            else
            {
                if (rest == 0 || total % rest != 0) throw new ShapeException($"Cannot reshape {Shapes.Format(input)} to {FormatSpec(spec)}.");
                y[inferred] = checked((int)(total / rest));
            }
        }
        else if (Shapes.IsStatic(input) && Shapes.IsStatic(y) && Shapes.ElementCount(input) != Shapes.ElementCount(y))
            throw new ShapeException($"Cannot reshape {Shapes.Format(input)} ({Shapes.ElementCount(input)} elements) to {Shapes.Format(y)}.");
        return y;
    }

    /// <summary>ONNX Flatten: dims before axis and from axis on collapse to two.</summary>
    public static int[] Flatten(ReadOnlySpan<int> input, int axis)
    {
        int a = axis < 0 ? axis + input.Length : axis;
        if (a < 0 || a > input.Length) throw new ShapeException($"Flatten axis {axis} is out of range for rank {input.Length}.");
        return [Product(input[..a]), Product(input[a..])];
    }

    private static int Product(ReadOnlySpan<int> dims)
    {
        if (!Shapes.IsStatic(dims)) return Shapes.Dynamic;
        return checked((int)Shapes.ElementCount(dims));
    }

    private static string FormatSpec(ReadOnlySpan<long> spec) => "[" + string.Join(", ", spec.ToArray()) + "]";
}
