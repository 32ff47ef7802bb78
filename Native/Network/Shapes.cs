namespace TrtEngine.Native.Network;

/// <summary>Shape arithmetic shared by the network, the builder and the runtime. A dimension of -1 is dynamic.</summary>
public static class Shapes
{
    public const int Dynamic = -1;

    public static long ElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Shape {Format(shape)} has a dynamic dimension and no element count.");
            n = checked(n * d);
        }
        return n;
    }

    public static string Format(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++) parts[i] = shape[i] < 0 ? "?" : shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return "[" + string.Join(", ", parts) + "]";
    }

    /// <summary>Row-major element strides of a contiguous tensor of this shape.</summary>
    public static long[] Strides(ReadOnlySpan<int> shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= shape[d];
        }
        return strides;
    }

    public static bool IsStatic(ReadOnlySpan<int> shape)
    {
        foreach (int d in shape) if (d < 0) return false;
        return true;
    }

    /// <summary>ONNX multidirectional broadcasting; dynamic dims broadcast against 1 or an equal dim.</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var y = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da == 1) y[i] = db;
            else if (db == 1 || da == db) y[i] = da;
            else if (da < 0 || db < 0) y[i] = Math.Max(da, db);
            else throw new ShapeException($"Shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db}).");
        }
        return y;
    }

    /// <summary>The axis counted from the front; the operator's kind and name go into the error only (shape inference runs per call).</summary>
    public static int NormalizeAxis(int axis, int rank, string kind, string name)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ShapeException($"{kind} '{name}': axis {axis} is out of range for rank {rank}.");
        return a;
    }
}
