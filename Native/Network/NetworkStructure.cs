using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Network;

/// <summary>
/// The canonical bytes of a network's structure, for cache keys: every layer's type, parameters and wiring,
/// every model weight's name, shape and kind, input dims and outputs. Never the values of trained weights, and never
/// tensor or layer names (two exports of one model name them differently; inputs count by position). The values of
/// the graph's own constants (Constant nodes, and what folds from them alone) are attributes of the graph, not
/// weights a checkpoint carries: the builder may fold them into a fused kernel (GELU's 0.5 and √2), and a stripped
/// entry keeps them, so a model that differs only in one is another model, with another key.
/// </summary>
public static class NetworkStructure
{
    public static byte[] Serialize(NetworkDefinition network)
    {
        using var stream = new MemoryStream();
        var w = new PlanWriter(stream);
        w.Write(network.Inputs.Count);
        foreach (int i in network.Inputs) w.Write(network.Tensors[i].Dims);
        w.Write(network.Weights.Count);
        foreach (var weight in network.Weights)
        {
            w.Write(weight.Name);
            w.Write(weight.Shape);
            w.Write((byte)weight.Kind);
            if (weight.Kind == WeightKind.Constant) w.Write(weight.Values);
        }
        w.Write(network.FoldedOps.Count);
        foreach (var op in network.FoldedOps) PlanSerializer.WriteFoldedOp(w, op);
        w.Write(network.Layers.Count);
        foreach (var layer in network.Layers)
        {
            w.Write((byte)layer.Kind);
            w.Write(layer.Inputs.Length);
            foreach (var v in layer.Inputs)
            {
                w.Write(v.IsWeight);
                w.Write(v.Index);
            }
            w.Write(layer.Output);
            layer.WriteParameters(w);
        }
        w.Write(network.Outputs.Count);
        foreach (int o in network.Outputs) w.Write(o);
        w.Flush();
        return stream.ToArray();
    }
}
