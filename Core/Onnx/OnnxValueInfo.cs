namespace TrtEngine.Core.Onnx;

/// <summary>A graph input, output or intermediate value with its declared tensor type.</summary>
public sealed class OnnxValueInfo
{
    internal OnnxValueInfo(string name, OnnxDataType elementType, IReadOnlyList<OnnxDim>? shape)
    {
        Name = name;
        ElementType = elementType;
        Shape = shape;
    }

    public string Name { get; }

    /// <summary>Undefined when the value is not a tensor or its type is not declared.</summary>
    public OnnxDataType ElementType { get; }

    /// <summary>Null when the shape (even its rank) is unknown.</summary>
    public IReadOnlyList<OnnxDim>? Shape { get; }

    public override string ToString() =>
        Shape is null ? $"{Name}: {ElementType}" : $"{Name}: {ElementType}[{string.Join(", ", Shape)}]";
}
