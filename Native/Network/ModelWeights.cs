namespace TrtEngine.Native.Network;

/// <summary>A named float32 weight of the model, as the model names it; engine weights derive from these.</summary>
public sealed class ModelWeights
{
    private float[]? _values;
    private readonly Func<float[]>? _compute;

    public ModelWeights(string name, int[] shape, float[] values, WeightKind kind)
    {
        if (values.LongLength != Shapes.ElementCount(shape))
            throw new ArgumentException($"Weight '{name}' has {values.LongLength} values but shape {Shapes.Format(shape)} needs {Shapes.ElementCount(shape)}.", nameof(values));
        Name = name;
        Shape = shape;
        _values = values;
        Kind = kind;
    }

    /// <summary>
    /// A computed weight whose values <paramref name="compute"/> makes when they are first read: a network read only
    /// for its parameters (a refit's file, a cache hit) never reads them, as the refit computes them again.
    /// </summary>
    public ModelWeights(string name, int[] shape, Func<float[]> compute)
    {
        // Sized now, so a weight too large for one array is refused where it is added, not where it is first read.
        _ = checked((int)Shapes.ElementCount(shape));
        Name = name;
        Shape = shape;
        _compute = compute;
        Kind = WeightKind.Computed;
    }

    public string Name { get; }
    public int[] Shape { get; }
    public WeightKind Kind { get; }

    public float[] Values => Volatile.Read(ref _values) ?? Compute();

    /// <summary>Whether the values exist: given, or computed by a read of <see cref="Values"/>.</summary>
    public bool HasValues => Volatile.Read(ref _values) is not null;

    private float[] Compute()
    {
        lock (_compute!)
        {
            if (_values is null)
            {
                var values = _compute();
                if (values.LongLength != Shapes.ElementCount(Shape))
                    throw new InvalidOperationException($"Weight '{Name}' was computed as {values.LongLength} values; shape {Shapes.Format(Shape)} needs {Shapes.ElementCount(Shape)}.");
                Volatile.Write(ref _values, values);
            }
            return _values;
        }
    }
}
