using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Network;

/// <summary>
/// An operation of the model that reads weights only (no run-time input), folded out of the network. Its output is a
/// computed model weight, evaluated when the engine is built and again at every refit from the new values of its
/// inputs, so a model exported without constant folding (a transposed parameter, a parameter scaled by a constant)
/// builds into the same kernels and stays exactly refittable.
/// </summary>
public sealed record FoldedOp(FoldedOpKind Kind, string[] Inputs, int[][] InputShapes, string Output, int[] OutputShape, int[] Ints)
{
    /// <summary>The output shape the kind, input shapes and Ints give (for Copy, <paramref name="copyShape"/> when the counts agree).</summary>
    public static int[] InferShape(FoldedOpKind kind, int[][] inputs, int[] ints, int[] copyShape)
    {
        int arity = kind switch { FoldedOpKind.Binary or FoldedOpKind.MatMul => 2, FoldedOpKind.Concat => Math.Max(1, inputs.Length), _ => 1 };
        if (inputs.Length != arity) throw new ShapeException($"A folded {kind} takes {arity} inputs, not {inputs.Length}.");
        switch (kind)
        {
            case FoldedOpKind.Copy:
                if (Shapes.ElementCount(copyShape) != Shapes.ElementCount(inputs[0]))
                    throw new ShapeException($"A folded reshape of {Shapes.Format(inputs[0])} cannot give {Shapes.Format(copyShape)}.");
                return copyShape;
            case FoldedOpKind.Transpose:
                if (ints.Length != inputs[0].Length || ints.Order().Where((p, i) => p != i).Any())
                    throw new ShapeException($"A folded transpose of {Shapes.Format(inputs[0])} has permutation [{string.Join(", ", ints)}].");
                return ints.Select(p => inputs[0][p]).ToArray();
            case FoldedOpKind.Binary:
                if (ints is not [var op] || !Enum.IsDefined((BinaryOp)op)) throw new ShapeException("A folded binary operation has no valid operator.");
                if (Math.Max(inputs[0].Length, inputs[1].Length) > BinaryKernels.MaxRank) throw new ShapeException($"A folded binary operation has rank above {BinaryKernels.MaxRank}.");
                return Shapes.Broadcast(inputs[0], inputs[1]);
            case FoldedOpKind.Concat:
            {
                int rank = inputs[0].Length;
                if (ints is not [var axis] || axis < 0 || axis >= rank) throw new ShapeException($"A folded concat of rank {rank} has no valid axis.");
                foreach (var s in inputs)
                    if (s.Length != rank || Enumerable.Range(0, rank).Any(d => d != axis && s[d] != inputs[0][d]))
                        throw new ShapeException($"A folded concat along axis {axis} joins {string.Join(" and ", inputs.Select(i => Shapes.Format(i)))}.");
                var y = (int[])inputs[0].Clone();
                y[axis] = checked(inputs.Sum(s => s[axis]));
                return y;
            }
            case FoldedOpKind.MatMul:
                if (inputs[0].Length != 2 || inputs[1].Length != 2 || inputs[0][1] != inputs[1][0])
                    throw new ShapeException($"A folded MatMul multiplies 2-D matrices, not {Shapes.Format(inputs[0])} by {Shapes.Format(inputs[1])}.");
                return [inputs[0][0], inputs[1][1]];
            case FoldedOpKind.Slice:
            {
                int[] x = inputs[0];
                if (ints.Length != 3 * x.Length) throw new ShapeException($"A folded slice of {Shapes.Format(x)} needs a start, step and count per axis.");
                long count = 1;
                for (int d = 0; d < x.Length; d++)
                {
                    long start = ints[d], step = ints[x.Length + d], n = ints[2 * x.Length + d];
                    if (n < 0 || step == 0 || (n > 0 && (start < 0 || start >= x[d] || start + (n - 1) * step < 0 || start + (n - 1) * step >= x[d])))
                        throw new ShapeException($"A folded slice of {Shapes.Format(x)} reads outside axis {d}.");
                    count *= n;
                }
                if (Shapes.ElementCount(copyShape) != count)
                    throw new ShapeException($"A folded slice of {count} elements cannot give {Shapes.Format(copyShape)}.");
                return copyShape;
            }
            default:
                throw new ShapeException($"Unknown folded operation {kind}.");
        }
    }

    /// <summary>Throws <see cref="ShapeException"/> unless the recorded output shape is what the inputs give.</summary>
    public void Validate()
    {
        if (InputShapes.Length != Inputs.Length) throw new ShapeException($"Folded '{Output}' names {Inputs.Length} inputs but has {InputShapes.Length} shapes.");
        if (!InferShape(Kind, InputShapes, Ints, OutputShape).AsSpan().SequenceEqual(OutputShape))
            throw new ShapeException($"Folded '{Output}' records shape {Shapes.Format(OutputShape)}, which its inputs do not give.");
    }

    /// <summary>Computes the output from input values in the recorded shapes, into an array from <paramref name="allocate"/> (given the length) when there is one.</summary>
    public float[] Evaluate(IReadOnlyList<float[]> inputs, Func<int, float[]>? allocate = null)
    {
        for (int i = 0; i < Inputs.Length; i++)
            if (inputs[i].LongLength != Shapes.ElementCount(InputShapes[i]))
                throw new ShapeException($"Folded '{Output}': input '{Inputs[i]}' has {inputs[i].LongLength} values, expected {Shapes.ElementCount(InputShapes[i])}.");
        // Every kind writes every output value.
        int length = checked((int)Shapes.ElementCount(OutputShape));
        var y = allocate?.Invoke(length) ?? GC.AllocateUninitializedArray<float>(length);
        switch (Kind)
        {
            case FoldedOpKind.Copy:
                inputs[0].CopyTo(y, 0);
                break;
            case FoldedOpKind.Transpose:
            {
                long[] strides = Shapes.Strides(InputShapes[0]);
                Gather(y, inputs[0], 0, Ints.Select(p => strides[p]).ToArray(), OutputShape);
                break;
            }
            case FoldedOpKind.Slice:
            {
                int rank = InputShapes[0].Length;
                long[] strides = Shapes.Strides(InputShapes[0]);
                long first = Enumerable.Range(0, rank).Sum(d => Ints[d] * strides[d]);
                Gather(y, inputs[0], first, Enumerable.Range(0, rank).Select(d => Ints[rank + d] * strides[d]).ToArray(), Ints[(2 * rank)..]);
                break;
            }
            case FoldedOpKind.Binary:
                unsafe
                {
                    fixed (float* a = inputs[0], b = inputs[1], py = y)
                        BinaryKernels.Apply((BinaryOp)Ints[0], a, InputShapes[0], b, InputShapes[1], py, OutputShape);
                }
                break;
            case FoldedOpKind.Concat:
            {
                int axis = Ints[0];
                long outer = Shapes.ElementCount(OutputShape.AsSpan(0, axis)), inner = Shapes.ElementCount(OutputShape.AsSpan(axis + 1));
                int offset = 0;
                for (long o = 0; o < outer; o++)
                    for (int i = 0; i < inputs.Count; i++)
                    {
                        int chunk = (int)(InputShapes[i][axis] * inner);
                        Array.Copy(inputs[i], o * chunk, y, offset, chunk);
                        offset += chunk;
                    }
                break;
            }
            case FoldedOpKind.MatMul:
            {
                int m = InputShapes[0][0], k = InputShapes[0][1], n = InputShapes[1][1];
                for (int r = 0; r < m; r++)
                    for (int c = 0; c < n; c++)
                    {
                        double sum = 0;
                        for (int j = 0; j < k; j++) sum += (double)inputs[0][r * k + j] * inputs[1][j * n + c];
                        y[r * n + c] = (float)sum;
                    }
                break;
            }
        }
        return y;
    }

    /// <summary>
    /// The elements of <paramref name="shape"/> in row-major order, read from <paramref name="first"/> at the given
    /// stride per dim: runs and tiles of vectors (<see cref="CopyKernels.Strided"/>), one at a time past its rank limit.
    /// ViT-Ti/16's in-projection weights, sliced and transposed per layer, went one value at a time: a third of one
    /// sliced in 69 µs against 27, the whole transposed in 210 against 47.
    /// </summary>
    private static unsafe void Gather(float[] destination, float[] source, long first, long[] strides, int[] shape)
    {
        if (destination.Length == 0) return;
        if (shape.Length <= CopyKernels.MaxRank)
        {
            fixed (float* from = source, to = destination)
                CopyKernels.Strided(from + first, Array.ConvertAll(strides, s => (nint)s), to, default, shape);
            return;
        }
        var index = new int[shape.Length];
        long at = first;
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = source[at];
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                at += strides[d];
                if (++index[d] < shape[d]) break;
                at -= strides[d] * shape[d];
                index[d] = 0;
            }
        }
    }
}
