namespace TrtEngine.Native.Layers;

/// <summary>A layer operand: an activation tensor, or a weight (a model weight in a network, an engine weight in a plan).</summary>
public readonly record struct ValueRef(bool IsWeight, int Index)
{
    public static readonly ValueRef None = new(false, -1);

    public static ValueRef Tensor(int index) => new(false, index);
    public static ValueRef Weight(int index) => new(true, index);

    public bool IsNone => Index < 0;

    public override string ToString() => IsNone ? "none" : (IsWeight ? "w" : "t") + Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
