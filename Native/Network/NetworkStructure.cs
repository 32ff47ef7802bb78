using TrtEngine.Native.Layers;
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
/// nodes in another order) computes the same, so layers are written in a canonical topological order and weights in
/// the order that reads them.
/// </summary>
public static class NetworkStructure
{
    /// <summary>
    /// The graph alone, for telling whether a model a refit reads is the one an engine was built from: the structure
    /// without the Constant nodes' values (a refit may change those like any weight) and without weight names (a
    /// checkpoint's names may be mapped onto the model's), SHA-256 in hex.
    /// </summary>
    public static string Digest(NetworkDefinition network) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Serialize(network, graphOnly: true))).ToLowerInvariant();

    /// <param name="graphOnly">Leave out the Constant nodes' values and the weights' names (a cache key has both: constants may be folded into kernels).</param>
    public static byte[] Serialize(NetworkDefinition network, bool graphOnly = false)
    {
        var layers = network.Layers;
        // Each layer's parameters, written once: they sign the layer, and go into the bytes as they are.
        using var parameterStream = new MemoryStream();
        var p = new PlanWriter(parameterStream);
        var spans = new (int Start, int Length)[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            int start = (int)parameterStream.Length;
            layers[l].WriteParameters(p);
            p.Flush();
            spans[l] = (start, (int)parameterStream.Length - start);
        }
        byte[] parameters = parameterStream.GetBuffer();

        // Weights are known by their names (a graph alone by their shapes and kinds); hashed once, they order them cheaply.
        var weightSignature = network.Weights.Select(weight => Mix(Offset, graphOnly ? $"{Shapes.Format(weight.Shape)}:{weight.Kind}" : weight.Name)).ToArray();
        int[] layerOrder = CanonicalOrder(network, parameters, spans, weightSignature);
        var tensorNumber = new int[network.Tensors.Count];
        for (int i = 0; i < network.Inputs.Count; i++) tensorNumber[network.Inputs[i]] = i;
        for (int k = 0; k < layerOrder.Length; k++) tensorNumber[layers[layerOrder[k]].Output] = network.Inputs.Count + k;
        // Weights by first use in that order, then those no layer reads (folded ops' inputs) by their names' hashes.
        var weightNumber = new int[network.Weights.Count];
        Array.Fill(weightNumber, -1);
        var weightOrder = new List<int>(weightNumber.Length);
        foreach (int l in layerOrder)
            foreach (var v in layers[l].Inputs)
                if (v.IsWeight && weightNumber[v.Index] < 0)
                {
                    weightNumber[v.Index] = weightOrder.Count;
                    weightOrder.Add(v.Index);
                }
        foreach (int i in Enumerable.Range(0, weightNumber.Length).Where(i => weightNumber[i] < 0)
                     .OrderBy(i => weightSignature[i]).ThenBy(i => network.Weights[i].Name, StringComparer.Ordinal))
        {
            weightNumber[i] = weightOrder.Count;
            weightOrder.Add(i);
        }

        using var stream = new MemoryStream();
        var w = new PlanWriter(stream);
        w.Write(network.Inputs.Count);
        for (int i = 0; i < network.Inputs.Count; i++)
        {
            w.Write(network.Tensors[network.Inputs[i]].Dims);
            w.Write((byte)network.InputTypes[i]);
        }
        w.Write(network.Weights.Count);
        foreach (int i in weightOrder)
        {
            var weight = network.Weights[i];
            if (!graphOnly) w.Write(weight.Name);
            w.Write(weight.Shape);
            w.Write((byte)weight.Kind);
            if (!graphOnly && weight.Kind == WeightKind.Constant) w.Write(weight.Values);
        }
        w.Write(network.FoldedOps.Count);
        foreach (var op in network.FoldedOps.OrderBy(op => op.Output, StringComparer.Ordinal)) PlanSerializer.WriteFoldedOp(w, op);
        w.Write(layers.Count);
        foreach (int l in layerOrder)
        {
            var layer = layers[l];
            w.Write((byte)layer.Kind);
            w.Write(layer.Inputs.Length);
            foreach (var v in layer.Inputs)
            {
                w.Write(v.IsWeight);
                w.Write(v.IsNone ? -1 : v.IsWeight ? weightNumber[v.Index] : tensorNumber[v.Index]);
            }
            w.Write(tensorNumber[layer.Output]);
            w.Flush();
            stream.Write(parameters, spans[l].Start, spans[l].Length);
        }
        w.Write(network.Outputs.Count);
        for (int o = 0; o < network.Outputs.Count; o++)
        {
            w.Write(tensorNumber[network.Outputs[o]]);
            w.Write((byte)network.OutputTypes[o]);
        }
        w.Flush();
        return stream.ToArray();
    }

    /// <summary>
    /// The layers in a topological order that does not depend on the order they were added in: of the layers whose
    /// inputs are ready, the one with the smallest signature comes first. A layer's signature hashes its kind, its
    /// parameters and what it reads (inputs by position, weights by name, other layers by their signatures), so it
    /// names the computation. Two layers with one signature (the same computation done twice, or a collision of the
    /// 64-bit hash) keep the model's order between them: the key then depends on it, and nothing else does.
    /// </summary>
    private static int[] CanonicalOrder(NetworkDefinition network, byte[] parameters, (int Start, int Length)[] spans, ulong[] weightSignature)
    {
        var layers = network.Layers;
        var tensorSignature = new ulong[network.Tensors.Count];
        for (int i = 0; i < network.Inputs.Count; i++) tensorSignature[network.Inputs[i]] = Mix(Offset, (ulong)i + 1);
        var signatures = new ulong[layers.Count];
        var producer = new int[network.Tensors.Count];
        Array.Fill(producer, -1);
        // The network's own order is topological: every layer reads tensors made before it.
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            ulong h = Mix(Mix(Offset, (ulong)layer.Kind), parameters.AsSpan(spans[l].Start, spans[l].Length));
            foreach (var v in layer.Inputs)
                h = Mix(h, v.IsNone ? 0 : v.IsWeight ? weightSignature[v.Index] : tensorSignature[v.Index]);
            signatures[l] = tensorSignature[layer.Output] = h;
            producer[layer.Output] = l;
        }

        // Kahn's algorithm, taking the smallest signature among the ready layers: networks have a few hundred layers
        // and a handful ready at a time, so a scan of the ready list is cheaper than a priority queue.
        var waiting = new int[layers.Count];
        var readers = new List<int>?[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            var inputs = layers[l].Inputs;
            for (int j = 0; j < inputs.Length; j++)
            {
                var v = inputs[j];
                if (v.IsNone || v.IsWeight || producer[v.Index] is var from && from < 0 || FirstRead(inputs, j) != j) continue;
                waiting[l]++;
                (readers[from] ??= []).Add(l);
            }
        }
        var ready = new List<int>();
        for (int l = 0; l < layers.Count; l++)
            if (waiting[l] == 0) ready.Add(l);
        var order = new int[layers.Count];
        for (int n = 0; ready.Count > 0; n++)
        {
            int best = 0;
            for (int i = 1; i < ready.Count; i++)
                if (signatures[ready[i]] < signatures[ready[best]] || (signatures[ready[i]] == signatures[ready[best]] && ready[i] < ready[best])) best = i;
            int l = ready[best];
            ready[best] = ready[^1];
            ready.RemoveAt(ready.Count - 1);
            order[n] = l;
            foreach (int r in readers[l] ?? [])
                if (--waiting[r] == 0) ready.Add(r);
        }
        return order;
    }

    /// <summary>The first position among <paramref name="inputs"/> that reads the tensor read at <paramref name="j"/>.</summary>
    private static int FirstRead(ValueRef[] inputs, int j)
    {
        for (int i = 0; i < j; i++)
            if (!inputs[i].IsWeight && inputs[i].Index == inputs[j].Index) return i;
        return j;
    }

    // FNV-1a, 64-bit: deterministic across processes (string.GetHashCode is not), and only orders layers.
    private const ulong Offset = 14695981039346656037, Prime = 1099511628211;

    private static ulong Mix(ulong h, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) h = (h ^ b) * Prime;
        return h;
    }

    private static ulong Mix(ulong h, ulong value)
    {
        h = (h ^ value) * Prime;
        return h ^ (h >> 32);
    }

    private static ulong Mix(ulong h, string text)
    {
        foreach (char c in text) h = (h ^ c) * Prime;
        return h;
    }
}
