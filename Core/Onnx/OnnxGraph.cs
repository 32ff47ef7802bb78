namespace TrtEngine.Core.Onnx;

/// <summary>A GraphProto: nodes in the order the file lists them, with the graph's values.</summary>
public sealed class OnnxGraph
{
    internal OnnxGraph(string name, OnnxNode[] nodes, OnnxTensor[] initializers, OnnxValueInfo[] inputs,
        OnnxValueInfo[] outputs, OnnxValueInfo[] valueInfos)
    {
        Name = name;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs;
        Outputs = outputs;
        ValueInfos = valueInfos;
    }

    public string Name { get; }

    public IReadOnlyList<OnnxNode> Nodes { get; }

    public IReadOnlyList<OnnxTensor> Initializers { get; }

    /// <summary>Declared inputs; older exporters also list initializers here.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    public IReadOnlyList<OnnxValueInfo> ValueInfos { get; }

    public override string ToString() => $"graph '{Name}': {Nodes.Count} nodes, {Initializers.Count} initializers";
}
