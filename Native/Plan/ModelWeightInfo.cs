using TrtEngine.Native.Network;

namespace TrtEngine.Native.Plan;

/// <summary>
/// A model weight an engine was built from: what a refit must supply, by name, shape and type. A folded weight
/// (a constant the builder baked into a fused kernel) can be supplied again only with its recorded value.
/// </summary>
public sealed record ModelWeightInfo(string Name, int[] Shape, WeightKind Kind, bool Folded = false)
{
    public string DataType => "Float32";
    public long ElementCount => Shapes.ElementCount(Shape);
}
