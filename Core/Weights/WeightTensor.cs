namespace TrtEngine.Core.Weights;

/// <summary>A named weight as float32 values in row-major order.</summary>
public sealed class WeightTensor
{
    public WeightTensor(string name, int[] shape, float[] data, string sourceDType = "F32")
    {
        Name = name;
        Shape = shape;
        Data = data;
        SourceDType = sourceDType;
    }

    public string Name { get; }

    public int[] Shape { get; }

    public float[] Data { get; }

    /// <summary>The element type the values were stored as before conversion (e.g. "F16").</summary>
    public string SourceDType { get; }

    /// <summary>Whether the values were stored as integers (I64, I32, a torch checkpoint's I16, I8, U8 and BOOL too): counters, indices or masks, not float weights.</summary>
    public bool IsInteger => StoredValues.IsInteger(SourceDType);

    /// <summary>Shared by the names of one tensor (a torch checkpoint's tied weights, <see cref="Native.Refit.WeightValue.Tie"/>); null for a tensor of one name.</summary>
    public object? Tie { get; internal set; }

    /// <summary>This tensor under another name (its values are not copied).</summary>
    public WeightTensor Renamed(string name) => new(name, Shape, Data, SourceDType) { Tie = Tie };

    public override string ToString() => $"{Name}: {SourceDType}[{string.Join(", ", Shape)}]";
}
