namespace TrtEngine.Core.Onnx;

/// <summary>One operator application in a graph.</summary>
public sealed class OnnxNode
{
    internal OnnxNode(string name, string opType, string domain, string[] inputs, string[] outputs,
        OnnxAttribute[] attributes)
    {
        Name = name;
        OpType = opType;
        Domain = domain;
        Inputs = inputs;
        Outputs = outputs;
        Attributes = attributes;
    }

    public string Name { get; }

    public string OpType { get; }

    public string Domain { get; }

    /// <summary>Input value names; an empty name marks an optional input that is absent.</summary>
    public IReadOnlyList<string> Inputs { get; }

    public IReadOnlyList<string> Outputs { get; }

    public IReadOnlyList<OnnxAttribute> Attributes { get; }

    public OnnxAttribute? FindAttribute(string name)
    {
        foreach (var attribute in Attributes)
        {
            if (attribute.Name == name)
                return attribute;
        }
        return null;
    }

    public long GetInt(string name, long defaultValue) =>
        Find(name, OnnxAttributeType.Int)?.I ?? defaultValue;

    public float GetFloat(string name, float defaultValue) =>
        Find(name, OnnxAttributeType.Float)?.F ?? defaultValue;

    public string GetString(string name, string defaultValue) =>
        Find(name, OnnxAttributeType.String)?.StringValue ?? defaultValue;

    /// <summary>The INTS attribute's values, or null when the node has no such attribute.</summary>
    public IReadOnlyList<long>? GetInts(string name) => Find(name, OnnxAttributeType.Ints)?.Ints;

    public IReadOnlyList<float>? GetFloats(string name) => Find(name, OnnxAttributeType.Floats)?.Floats;

    /// <summary>The STRINGS attribute's values as text, or null when the node has no such attribute.</summary>
    public IReadOnlyList<string>? GetStrings(string name) => Find(name, OnnxAttributeType.Strings)?.Strings.Select(System.Text.Encoding.UTF8.GetString).ToArray();

    public OnnxTensor? GetTensor(string name) => Find(name, OnnxAttributeType.Tensor)?.T;

    public override string ToString() => $"{OpType} '{Name}'";

    private OnnxAttribute? Find(string name, OnnxAttributeType type)
    {
        var attribute = FindAttribute(name);
        if (attribute is not null && attribute.Type != type)
            throw new OnnxFormatException($"node '{Name}' ({OpType}): attribute '{name}' is {attribute.Type}, expected {type}");
        return attribute;
    }
}
