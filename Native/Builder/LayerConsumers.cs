using TrtEngine.Native.Layers;

namespace TrtEngine.Native.Builder;

/// <summary>Which layers read each tensor: what fusion passes check before merging a producer with its consumer.</summary>
internal static class LayerConsumers
{
    public static Dictionary<int, List<Layer>> Of(IEnumerable<Layer> layers)
    {
        var consumers = new Dictionary<int, List<Layer>>();
        foreach (var layer in layers)
            foreach (var v in layer.Inputs)
                if (!v.IsNone && !v.IsWeight)
                {
                    if (!consumers.TryGetValue(v.Index, out var list)) consumers[v.Index] = list = [];
                    list.Add(layer);
                }
        return consumers;
    }
}
