using System.Security.Cryptography;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Network;

/// <summary>
/// The canonical bytes of a network's structure, for cache keys: every layer's type, parameters and wiring,
/// every model weight's name, shape and kind, input dims and outputs. Never the values of trained weights, and never
/// tensor or layer names (two exports of one model name them differently; inputs count by position). The values of
/// the graph's own constants (Constant nodes, and what folds from them alone) are attributes of the graph, not
/// weights a checkpoint carries: the builder may fold them into a fused kernel (GELU's 0.5 and √2), and a stripped
/// entry keeps them, so a model that differs only in one is another model, with another key.
/// Nor the order of the model's nodes: a valid reordering (an exporter that emits independent branches or Constant
/// nodes in another order) computes the same, so layers are written in a canonical topological order and weights by
/// name.
/// </summary>
public static class NetworkStructure
{
    public static byte[] Serialize(NetworkDefinition network)
    {
        int[] layerOrder = CanonicalOrder(network);
        var tensorNumber = new int[network.Tensors.Count];
        for (int i = 0; i < network.Inputs.Count; i++) tensorNumber[network.Inputs[i]] = i;
        for (int k = 0; k < layerOrder.Length; k++) tensorNumber[network.Layers[layerOrder[k]].Output] = network.Inputs.Count + k;
        int[] weightOrder = Enumerable.Range(0, network.Weights.Count).OrderBy(i => network.Weights[i].Name, StringComparer.Ordinal).ToArray();
        var weightNumber = new int[weightOrder.Length];
        for (int k = 0; k < weightOrder.Length; k++) weightNumber[weightOrder[k]] = k;

        using var stream = new MemoryStream();
        var w = new PlanWriter(stream);
        w.Write(network.Inputs.Count);
        foreach (int i in network.Inputs) w.Write(network.Tensors[i].Dims);
        w.Write(network.Weights.Count);
        foreach (int i in weightOrder)
        {
            var weight = network.Weights[i];
            w.Write(weight.Name);
            w.Write(weight.Shape);
            w.Write((byte)weight.Kind);
            if (weight.Kind == WeightKind.Constant) w.Write(weight.Values);
        }
        w.Write(network.FoldedOps.Count);
        foreach (var op in network.FoldedOps.OrderBy(op => op.Output, StringComparer.Ordinal)) PlanSerializer.WriteFoldedOp(w, op);
        w.Write(network.Layers.Count);
        foreach (int l in layerOrder)
        {
            var layer = network.Layers[l];
            w.Write((byte)layer.Kind);
            w.Write(layer.Inputs.Length);
            foreach (var v in layer.Inputs)
            {
                w.Write(v.IsWeight);
                w.Write(v.IsNone ? -1 : v.IsWeight ? weightNumber[v.Index] : tensorNumber[v.Index]);
            }
            w.Write(tensorNumber[layer.Output]);
            layer.WriteParameters(w);
        }
        w.Write(network.Outputs.Count);
        foreach (int o in network.Outputs) w.Write(tensorNumber[o]);
        w.Flush();
        return stream.ToArray();
    }

    /// <summary>
    /// The layers in a topological order that does not depend on the order they were added in: of the layers whose
    /// inputs are ready, the one with the smallest signature comes first. A layer's signature hashes its kind, its
    /// parameters and what it reads (inputs by position, weights by name, other layers by their signatures), so it
    /// names the computation. Two layers with one signature (the same computation done twice) keep the model's order
    /// between them.
    /// </summary>
    private static int[] CanonicalOrder(NetworkDefinition network)
    {
        var layers = network.Layers;
        var tensorSignature = new byte[network.Tensors.Count][];
        for (int i = 0; i < network.Inputs.Count; i++) tensorSignature[network.Inputs[i]] = SHA256.HashData(BitConverter.GetBytes(i));
        var signatures = new byte[layers.Count][];
        var producer = new Dictionary<int, int>();
        // The network's own order is topological: every layer reads tensors made before it.
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var bytes = new MemoryStream())
            {
                var w = new PlanWriter(bytes);
                w.Write((byte)layer.Kind);
                layer.WriteParameters(w);
                w.Flush();
                hash.AppendData(bytes.ToArray());
            }
            foreach (var v in layer.Inputs)
                hash.AppendData(v.IsNone ? [0] : v.IsWeight ? System.Text.Encoding.UTF8.GetBytes("w:" + network.Weights[v.Index].Name) : tensorSignature[v.Index]);
            signatures[l] = tensorSignature[layer.Output] = hash.GetHashAndReset();
            producer[layer.Output] = l;
        }

        var waiting = new int[layers.Count];
        var readers = new List<int>[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            readers[l] = [];
            foreach (int p in layers[l].Inputs.Where(v => !v.IsNone && !v.IsWeight).Select(v => v.Index).Distinct())
                if (producer.TryGetValue(p, out int from))
                {
                    waiting[l]++;
                    readers[from].Add(l);
                }
        }
        var ready = new PriorityQueue<int, (byte[] Signature, int Layer)>(Comparer<(byte[] Signature, int Layer)>.Create((a, b) =>
        {
            int c = a.Signature.AsSpan().SequenceCompareTo(b.Signature);
            return c != 0 ? c : a.Layer.CompareTo(b.Layer);
        }));
        for (int l = 0; l < layers.Count; l++)
            if (waiting[l] == 0) ready.Enqueue(l, (signatures[l], l));
        var order = new List<int>(layers.Count);
        while (ready.TryDequeue(out int l, out _))
        {
            order.Add(l);
            foreach (int r in readers[l])
                if (--waiting[r] == 0) ready.Enqueue(r, (signatures[r], r));
        }
        return [.. order];
    }
}
