using TrtEngine.Core.Onnx;

namespace TrtEngine.Testing.Onnx;

/// <summary>
/// Builds a GraphProto. Attribute values map to ONNX types by their .NET type: int/long → INT,
/// float → FLOAT, string/byte[] → STRING, int[]/long[] → INTS, float[] → FLOATS, string[] → STRINGS,
/// TensorValue → TENSOR, TensorValue[] → TENSORS, GraphBuilder → GRAPH, GraphBuilder[] → GRAPHS.
/// </summary>
public class GraphBuilder
{
    private readonly List<NodeDefinition> _nodes = [];
    private readonly List<Action<ProtoWriter>> _inputs = [];
    private readonly List<Action<ProtoWriter>> _outputs = [];
    private readonly List<Action<ProtoWriter>> _valueInfos = [];
    private readonly List<Action<ProtoWriter, ExternalDataWriter?>> _initializers = [];

    public GraphBuilder(string name = "graph")
    {
        Name = name;
    }

    public string Name { get; set; }

    /// <summary>Each dim is an int or long (fixed size), a string (symbolic dim_param) or null (unknown).</summary>
    public void AddInput(string name, OnnxDataType type, params object?[] dims) => _inputs.Add(ValueInfo(name, type, dims));

    public void AddOutput(string name, OnnxDataType type, params object?[] dims) => _outputs.Add(ValueInfo(name, type, dims));

    public void AddValueInfo(string name, OnnxDataType type, params object?[] dims) => _valueInfos.Add(ValueInfo(name, type, dims));

    public void AddInitializer(string name, float[] data, long[] dims, TensorEncoding encoding = TensorEncoding.Raw) =>
        AddInitializer(name, TensorValue.Float(data, dims), encoding);

    public void AddInitializer(string name, long[] data, long[] dims, TensorEncoding encoding = TensorEncoding.Raw) =>
        AddInitializer(name, TensorValue.Int64(data, dims), encoding);

    public void AddInitializer(string name, TensorValue value, TensorEncoding encoding = TensorEncoding.Raw) =>
        _initializers.Add((w, external) => w.WriteMessage(5, t => value.Write(t, name, encoding, external)));

    /// <summary>An initializer whose external data entries are written as given, pointing at a file the caller manages.</summary>
    public void AddExternalReference(string name, OnnxDataType type, long[] dims, string location, long offset, long? length) =>
        _initializers.Add((w, _) => w.WriteMessage(5, t =>
        {
            foreach (long dim in dims)
                t.WriteInt64(1, dim);
            t.WriteInt64(2, (long)type);
            t.WriteString(8, name);
            TensorValue.WriteExternalEntry(t, "location", location);
            TensorValue.WriteExternalEntry(t, "offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (length is { } byteCount)
                TensorValue.WriteExternalEntry(t, "length", byteCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            t.WriteInt64(14, 1);
        }));

    /// <summary>An initializer whose TensorProto fields the caller writes (types and encodings the other methods do not).</summary>
    public void AddCustomInitializer(Action<ProtoWriter> fields) => _initializers.Add((w, _) => w.WriteMessage(5, fields));

    /// <summary>Adds a node named "{opType}_{index}" unless its Name is changed afterwards.</summary>
    public NodeDefinition AddNode(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeDefinition($"{opType}_{_nodes.Count}", opType, inputs, outputs, attributes);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Writes the GraphProto fields (not the enclosing tag).</summary>
    internal void Write(ProtoWriter w, ExternalDataWriter? external)
    {
        foreach (var node in _nodes)
            w.WriteMessage(1, n => WriteNode(n, node, external));
        w.WriteString(2, Name);
        foreach (var initializer in _initializers)
            initializer(w, external);
        foreach (var input in _inputs)
            w.WriteMessage(11, input);
        foreach (var output in _outputs)
            w.WriteMessage(12, output);
        foreach (var valueInfo in _valueInfos)
            w.WriteMessage(13, valueInfo);
    }

    private static Action<ProtoWriter> ValueInfo(string name, OnnxDataType type, object?[] dims) => w =>
    {
        w.WriteString(1, name);
        w.WriteMessage(2, typeProto => typeProto.WriteMessage(1, tensorType =>
        {
            tensorType.WriteInt64(1, (long)type);
            tensorType.WriteMessage(2, shape =>
            {
                foreach (var dim in dims)
                    shape.WriteMessage(1, d => WriteDim(d, dim));
            });
        }));
    };

    private static void WriteDim(ProtoWriter w, object? dim)
    {
        switch (dim)
        {
            case null:
                break;
            case string param:
                w.WriteString(2, param);
                break;
            case int or long:
                w.WriteInt64(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                throw new ArgumentException($"dim {dim} is not an int, long, string or null");
        }
    }

    private static void WriteNode(ProtoWriter w, NodeDefinition node, ExternalDataWriter? external)
    {
        foreach (var input in node.Inputs)
            w.WriteString(1, input);
        foreach (var output in node.Outputs)
            w.WriteString(2, output);
        w.WriteString(3, node.Name);
        w.WriteString(4, node.OpType);
        foreach (var (name, value) in node.Attributes)
            w.WriteMessage(5, a => WriteAttribute(a, name, value, external));
        if (node.Domain.Length > 0)
            w.WriteString(7, node.Domain);
    }

    // Repeated attribute values are written unpacked, as onnx.proto (proto2, no [packed]) serializes them.
    private static void WriteAttribute(ProtoWriter w, string name, object value, ExternalDataWriter? external)
    {
        w.WriteString(1, name);
        OnnxAttributeType type;
        switch (value)
        {
            case int or long:
                w.WriteInt64(3, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                type = OnnxAttributeType.Int;
                break;
            case float f:
                w.WriteFloat(2, f);
                type = OnnxAttributeType.Float;
                break;
            case string s:
                w.WriteString(4, s);
                type = OnnxAttributeType.String;
                break;
            case byte[] bytes:
                w.WriteBytes(4, bytes);
                type = OnnxAttributeType.String;
                break;
            case int[] ints:
                Array.ForEach(ints, v => w.WriteInt64(8, v));
                type = OnnxAttributeType.Ints;
                break;
            case long[] longs:
                Array.ForEach(longs, v => w.WriteInt64(8, v));
                type = OnnxAttributeType.Ints;
                break;
            case float[] floats:
                Array.ForEach(floats, v => w.WriteFloat(7, v));
                type = OnnxAttributeType.Floats;
                break;
            case string[] strings:
                Array.ForEach(strings, v => w.WriteString(9, v));
                type = OnnxAttributeType.Strings;
                break;
            case TensorValue tensor:
                w.WriteMessage(5, t => tensor.Write(t, "", TensorEncoding.Raw, external));
                type = OnnxAttributeType.Tensor;
                break;
            case TensorValue[] tensors:
                Array.ForEach(tensors, v => w.WriteMessage(10, t => v.Write(t, "", TensorEncoding.Raw, external)));
                type = OnnxAttributeType.Tensors;
                break;
            case GraphBuilder graph:
                w.WriteMessage(6, g => graph.Write(g, external));
                type = OnnxAttributeType.Graph;
                break;
            case GraphBuilder[] graphs:
                Array.ForEach(graphs, v => w.WriteMessage(11, g => v.Write(g, external)));
                type = OnnxAttributeType.Graphs;
                break;
            default:
                throw new ArgumentException($"attribute '{name}': values of type {value.GetType()} have no ONNX attribute type");
        }
        w.WriteInt64(20, (long)type);
    }
}
