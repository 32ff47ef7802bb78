using TrtEngine.Native.Network;

namespace TrtEngine.Native.Plan;

/// <summary>A model weight an engine was built from: what a refit must supply, by name, shape and type.</summary>
public sealed record ModelWeightInfo(string Name, int[] Shape, WeightKind Kind)
{
    public string DataType => "Float32";
    public long ElementCount => Shapes.ElementCount(Shape);
}
