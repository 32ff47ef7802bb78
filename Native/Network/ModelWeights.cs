namespace TrtEngine.Native.Network;

/// <summary>A named float32 weight of the model, as the model names it; engine weights derive from these.</summary>
public sealed class ModelWeights
{
    public ModelWeights(string name, int[] shape, float[] values, WeightKind kind)
    {
        if (values.LongLength != Shapes.ElementCount(shape))
            throw new ArgumentException($"Weight '{name}' has {values.LongLength} values but shape {Shapes.Format(shape)} needs {Shapes.ElementCount(shape)}.", nameof(values));
        Name = name;
        Shape = shape;
        Values = values;
        Kind = kind;
    }

    public string Name { get; }
    public int[] Shape { get; }
    public float[] Values { get; }
    public WeightKind Kind { get; }
}
