namespace TrtEngine.Testing.Onnx;

/// <summary>A node added to a <see cref="GraphBuilder"/>; Name and Domain may be changed after adding.</summary>
public sealed class NodeDefinition
{
    public NodeDefinition(string name, string opType, string[] inputs, string[] outputs,
        (string Name, object Value)[] attributes)
    {
        Name = name;
        OpType = opType;
        Inputs = inputs;
        Outputs = outputs;
        Attributes = attributes;
    }

    public string Name { get; set; }

    public string Domain { get; set; } = "";

    public string OpType { get; }

    public string[] Inputs { get; }

    public string[] Outputs { get; }

    public (string Name, object Value)[] Attributes { get; }
}
