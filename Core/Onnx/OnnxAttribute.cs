using System.Text;

namespace TrtEngine.Core.Onnx;

/// <summary>A node attribute; only the members its Type names hold its value.</summary>
public sealed class OnnxAttribute
{
    internal OnnxAttribute(string name, OnnxAttributeType type, float f, long i, byte[] s,
        OnnxTensor? t, OnnxGraph? g, float[] floats, long[] ints, byte[][] strings,
        OnnxTensor[] tensors, OnnxGraph[] graphs)
    {
        Name = name;
        Type = type;
        F = f;
        I = i;
        S = s;
        T = t;
        G = g;
        Floats = floats;
        Ints = ints;
        Strings = strings;
        Tensors = tensors;
        Graphs = graphs;
    }

    public string Name { get; }

    public OnnxAttributeType Type { get; }

    public float F { get; }

    public long I { get; }

    /// <summary>STRING attributes are bytes on the wire; see <see cref="StringValue"/> for text.</summary>
    public byte[] S { get; }

    public string StringValue => Encoding.UTF8.GetString(S);

    public OnnxTensor? T { get; }

    public OnnxGraph? G { get; }

    public IReadOnlyList<float> Floats { get; }

    public IReadOnlyList<long> Ints { get; }

    public IReadOnlyList<byte[]> Strings { get; }

    public IReadOnlyList<OnnxTensor> Tensors { get; }

    public IReadOnlyList<OnnxGraph> Graphs { get; }

    /// <summary>This INTS attribute with other values (an operator lowered to another form reads it so).</summary>
    internal OnnxAttribute WithInts(long[] ints) => new(Name, Type, F, I, S, T, G, [.. Floats], ints, [.. Strings], [.. Tensors], [.. Graphs]);

    public override string ToString() => $"{Name}: {Type}";
}
