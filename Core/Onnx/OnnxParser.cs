using System.Runtime.InteropServices;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Turns ModelProto bytes into the Onnx* model classes. Fields it does not use are skipped;
/// every length and count is checked against the bytes present before anything is allocated.
/// </summary>
internal sealed class OnnxParser
{
    // Subgraphs (If/Loop/Scan bodies) nest through attributes; a cap keeps hostile files from exhausting the stack.
    private const int MaxGraphDepth = 64;

    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly string? _baseDirectory;
    private readonly List<byte[]>? _rented;
    private readonly Action<OnnxTensor>? _initializerParsed;
    private readonly Action<int>? _ensureRead;
    private readonly Func<int, float[]>? _allocateFloats;
    private OnnxExternalData? _external;

    /// <param name="rented">When given, external data is read into buffers rented from the shared pool and listed
    /// here, for the caller to return once the model is no longer used; otherwise into new arrays.</param>
    /// <param name="initializerParsed">Told each initializer of the main graph as soon as it is parsed.</param>
    /// <param name="ensureRead">
    /// For bytes still being read: called with the end of what the parse reads next (a field of the model or of its
    /// main graph, which is parsed field by field), so reading can keep just ahead of parsing.
    /// </param>
    /// <param name="allocateFloats">
    /// When given, float32 external data is read straight into an array from it, which the tensor's first decode returns
    /// (<see cref="OnnxTensor.ToSingleArray(Func{int, float[]})"/>): no bytes to decode and copy again.
    /// </param>
    public OnnxParser(ReadOnlyMemory<byte> bytes, string? baseDirectory, List<byte[]>? rented = null, Action<OnnxTensor>? initializerParsed = null,
                      Action<int>? ensureRead = null, Func<int, float[]>? allocateFloats = null)
    {
        _allocateFloats = allocateFloats;
        _bytes = bytes;
        _baseDirectory = baseDirectory;
        _rented = rented;
        _initializerParsed = initializerParsed;
        _ensureRead = ensureRead;
    }

    /// <summary>
    /// The next field's tag, with the field read first when bytes are still being read: its tag and length, then all
    /// of it, but for the main graph of a model (<paramref name="graphField"/>), which is read as it is parsed.
    /// </summary>
    private bool NextField(ref ProtoReader r, out int field, out ProtoWireType wire, int graphField = 0)
    {
        if (_ensureRead is null) return r.TryReadTag(out field, out wire);
        _ensureRead(r.Position + 2 * ProtoReader.MaxVarintBytes);
        if (!r.TryReadTag(out field, out wire)) return false;
        if (field != graphField) _ensureRead(r.FieldEnd(wire));
        return true;
    }

    /// <summary>The model, with the external data files its tensors read closed again once it is parsed.</summary>
    public OnnxModel ParseModel()
    {
        try
        {
            return ParseModelFields();
        }
        finally
        {
            _external?.Dispose();
        }
    }

    private OnnxModel ParseModelFields()
    {
        var r = new ProtoReader(_bytes.Span, 0, _bytes.Length, "model");
        long irVersion = 0, modelVersion = 0;
        string producerName = "", producerVersion = "", domain = "";
        var opsets = new List<OnnxOpsetImport>();
        OnnxGraph? graph = null;
        while (NextField(ref r, out int field, out var wire, graphField: 7))
        {
            switch (field)
            {
                case 1:
                    r.Expect(field, "ir_version", wire, ProtoWireType.Varint);
                    irVersion = r.ReadInt64();
                    break;
                case 2:
                    r.Expect(field, "producer_name", wire, ProtoWireType.LengthDelimited);
                    producerName = r.ReadString();
                    break;
                case 3:
                    r.Expect(field, "producer_version", wire, ProtoWireType.LengthDelimited);
                    producerVersion = r.ReadString();
                    break;
                case 4:
                    r.Expect(field, "domain", wire, ProtoWireType.LengthDelimited);
                    domain = r.ReadString();
                    break;
                case 5:
                    r.Expect(field, "model_version", wire, ProtoWireType.Varint);
                    modelVersion = r.ReadInt64();
                    break;
                case 7:
                    r.Expect(field, "graph", wire, ProtoWireType.LengthDelimited);
                    var graphReader = r.ReadMessage("graph");
                    graph = ParseGraph(ref graphReader, 1);
                    break;
                case 8:
                    r.Expect(field, "opset_import", wire, ProtoWireType.LengthDelimited);
                    var opsetReader = r.ReadMessage($"opset_import[{opsets.Count}]");
                    opsets.Add(ParseOpsetImport(ref opsetReader));
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
        if (graph is null)
            throw r.Error("the model has no graph");
        return new OnnxModel(irVersion, producerName, producerVersion, domain, modelVersion, opsets.ToArray(), graph);
    }

    private static OnnxOpsetImport ParseOpsetImport(ref ProtoReader r)
    {
        string domain = "";
        long version = 0;
        while (r.TryReadTag(out int field, out var wire))
        {
            switch (field)
            {
                case 1:
                    r.Expect(field, "domain", wire, ProtoWireType.LengthDelimited);
                    domain = r.ReadString();
                    break;
                case 2:
                    r.Expect(field, "version", wire, ProtoWireType.Varint);
                    version = r.ReadInt64();
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
        return new OnnxOpsetImport(domain, version);
    }

    private OnnxGraph ParseGraph(ref ProtoReader r, int depth)
    {
        if (depth > MaxGraphDepth)
            throw r.Error($"subgraphs nest deeper than {MaxGraphDepth} levels");
        string where = r.Where;
        string name = "";
        var nodes = new List<OnnxNode>();
        var initializers = new List<OnnxTensor>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        var valueInfos = new List<OnnxValueInfo>();
        while (depth == 1 ? NextField(ref r, out int field, out var wire) : r.TryReadTag(out field, out wire))
        {
            switch (field)
            {
                case 1:
                    r.Expect(field, "node", wire, ProtoWireType.LengthDelimited);
                    var nodeReader = r.ReadMessage($"{where}.node[{nodes.Count}]");
                    nodes.Add(ParseNode(ref nodeReader, depth));
                    break;
                case 2:
                    r.Expect(field, "name", wire, ProtoWireType.LengthDelimited);
                    name = r.ReadString();
                    break;
                case 5:
                    r.Expect(field, "initializer", wire, ProtoWireType.LengthDelimited);
                    var tensorReader = r.ReadMessage($"{where}.initializer[{initializers.Count}]");
                    var initializer = ParseTensor(ref tensorReader, $"{where}.initializer");
                    initializers.Add(initializer);
                    if (depth == 1) _initializerParsed?.Invoke(initializer);
                    break;
                case 11:
                    ReadValueInfo(ref r, field, "input", wire, inputs);
                    break;
                case 12:
                    ReadValueInfo(ref r, field, "output", wire, outputs);
                    break;
                case 13:
                    ReadValueInfo(ref r, field, "value_info", wire, valueInfos);
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
        return new OnnxGraph(name, nodes.ToArray(), initializers.ToArray(), inputs.ToArray(), outputs.ToArray(), valueInfos.ToArray());
    }

    private static void ReadValueInfo(ref ProtoReader r, int field, string kind, ProtoWireType wire, List<OnnxValueInfo> target)
    {
        r.Expect(field, kind, wire, ProtoWireType.LengthDelimited);
        var reader = r.ReadMessage($"{r.Where}.{kind}[{target.Count}]");
        target.Add(ParseValueInfo(ref reader));
    }

    private OnnxNode ParseNode(ref ProtoReader r, int depth)
    {
        string where = r.Where;
        string name = "", opType = "", domain = "";
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new List<OnnxAttribute>();
        while (r.TryReadTag(out int field, out var wire))
        {
            switch (field)
            {
                case 1:
                    r.Expect(field, "input", wire, ProtoWireType.LengthDelimited);
                    inputs.Add(r.ReadString());
                    break;
                case 2:
                    r.Expect(field, "output", wire, ProtoWireType.LengthDelimited);
                    outputs.Add(r.ReadString());
                    break;
                case 3:
                    r.Expect(field, "name", wire, ProtoWireType.LengthDelimited);
                    name = r.ReadString();
                    break;
                case 4:
                    r.Expect(field, "op_type", wire, ProtoWireType.LengthDelimited);
                    opType = r.ReadString();
                    break;
                case 5:
                    r.Expect(field, "attribute", wire, ProtoWireType.LengthDelimited);
                    var attributeReader = r.ReadMessage($"{where}.attribute[{attributes.Count}]");
                    attributes.Add(ParseAttribute(ref attributeReader, where, depth));
                    break;
                case 7:
                    r.Expect(field, "domain", wire, ProtoWireType.LengthDelimited);
                    domain = r.ReadString();
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
        return new OnnxNode(name, opType, domain, inputs.ToArray(), outputs.ToArray(), attributes.ToArray());
    }

    private OnnxAttribute ParseAttribute(ref ProtoReader r, string nodeWhere, int depth)
    {
        string name = "";
        var type = OnnxAttributeType.Undefined;
        // Very old files omit the type; then the last value field seen decides it.
        var seenType = OnnxAttributeType.Undefined;
        float f = 0;
        long i = 0;
        byte[] s = [];
        OnnxTensor? t = null;
        OnnxGraph? g = null;
        var floats = new List<float>();
        var ints = new List<ulong>();
        var strings = new List<byte[]>();
        var tensors = new List<OnnxTensor>();
        var graphs = new List<OnnxGraph>();
        while (r.TryReadTag(out int field, out var wire))
        {
            switch (field)
            {
                case 1:
                    r.Expect(field, "name", wire, ProtoWireType.LengthDelimited);
                    name = r.ReadString();
                    r.Where = $"{nodeWhere}.attribute '{name}'";
                    break;
                case 20:
                    r.Expect(field, "type", wire, ProtoWireType.Varint);
                    type = (OnnxAttributeType)r.ReadInt32();
                    break;
                case 2:
                    r.Expect(field, "f", wire, ProtoWireType.Fixed32);
                    f = r.ReadFloat();
                    seenType = OnnxAttributeType.Float;
                    break;
                case 3:
                    r.Expect(field, "i", wire, ProtoWireType.Varint);
                    i = r.ReadInt64();
                    seenType = OnnxAttributeType.Int;
                    break;
                case 4:
                    r.Expect(field, "s", wire, ProtoWireType.LengthDelimited);
                    s = r.ReadBytes().ToArray();
                    seenType = OnnxAttributeType.String;
                    break;
                case 5:
                    r.Expect(field, "t", wire, ProtoWireType.LengthDelimited);
                    var tensorReader = r.ReadMessage($"{r.Where}.t");
                    t = ParseTensor(ref tensorReader, $"{r.Where}.t");
                    seenType = OnnxAttributeType.Tensor;
                    break;
                case 6:
                    r.Expect(field, "g", wire, ProtoWireType.LengthDelimited);
                    var graphReader = r.ReadMessage($"{r.Where}.g");
                    g = ParseGraph(ref graphReader, depth + 1);
                    seenType = OnnxAttributeType.Graph;
                    break;
                case 7:
                    ReadFloats(ref r, field, "floats", wire, floats);
                    seenType = OnnxAttributeType.Floats;
                    break;
                case 8:
                    ReadVarints(ref r, field, "ints", wire, ints);
                    seenType = OnnxAttributeType.Ints;
                    break;
                case 9:
                    r.Expect(field, "strings", wire, ProtoWireType.LengthDelimited);
                    strings.Add(r.ReadBytes().ToArray());
                    seenType = OnnxAttributeType.Strings;
                    break;
                case 10:
                    r.Expect(field, "tensors", wire, ProtoWireType.LengthDelimited);
                    var itemReader = r.ReadMessage($"{r.Where}.tensors[{tensors.Count}]");
                    tensors.Add(ParseTensor(ref itemReader, $"{r.Where}.tensors"));
                    seenType = OnnxAttributeType.Tensors;
                    break;
                case 11:
                    r.Expect(field, "graphs", wire, ProtoWireType.LengthDelimited);
                    var subgraphReader = r.ReadMessage($"{r.Where}.graphs[{graphs.Count}]");
                    graphs.Add(ParseGraph(ref subgraphReader, depth + 1));
                    seenType = OnnxAttributeType.Graphs;
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
        if (type == OnnxAttributeType.Undefined)
            type = seenType;
        var intValues = new long[ints.Count];
        for (int k = 0; k < intValues.Length; k++)
            intValues[k] = (long)ints[k];
        return new OnnxAttribute(name, type, f, i, s, t, g, floats.ToArray(), intValues, strings.ToArray(),
            tensors.ToArray(), graphs.ToArray());
    }

    private static OnnxValueInfo ParseValueInfo(ref ProtoReader r)
    {
        string name = "";
        var elementType = OnnxDataType.Undefined;
        List<OnnxDim>? shape = null;
        while (r.TryReadTag(out int field, out var wire))
        {
            switch (field)
            {
                case 1:
                    r.Expect(field, "name", wire, ProtoWireType.LengthDelimited);
                    name = r.ReadString();
                    r.Where = $"{r.Where} '{name}'";
                    break;
                case 2:
                    r.Expect(field, "type", wire, ProtoWireType.LengthDelimited);
                    var typeReader = r.ReadMessage($"{r.Where}.type");
                    ParseTensorType(ref typeReader, ref elementType, ref shape);
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
        return new OnnxValueInfo(name, elementType, shape?.ToArray());
    }

    /// <summary>Reads TypeProto.tensor_type; sequence, map and other types stay unknown.</summary>
    private static void ParseTensorType(ref ProtoReader r, ref OnnxDataType elementType, ref List<OnnxDim>? shape)
    {
        while (r.TryReadTag(out int field, out var wire))
        {
            if (field != 1)
            {
                r.Skip(wire);
                continue;
            }
            r.Expect(field, "tensor_type", wire, ProtoWireType.LengthDelimited);
            var tensorType = r.ReadMessage($"{r.Where}.tensor_type");
            while (tensorType.TryReadTag(out int tensorField, out var tensorWire))
            {
                switch (tensorField)
                {
                    case 1:
                        tensorType.Expect(tensorField, "elem_type", tensorWire, ProtoWireType.Varint);
                        elementType = (OnnxDataType)tensorType.ReadInt32();
                        break;
                    case 2:
                        tensorType.Expect(tensorField, "shape", tensorWire, ProtoWireType.LengthDelimited);
                        var shapeReader = tensorType.ReadMessage($"{tensorType.Where}.shape");
                        shape = ParseShape(ref shapeReader);
                        break;
                    default:
                        tensorType.Skip(tensorWire);
                        break;
                }
            }
        }
    }

    private static List<OnnxDim> ParseShape(ref ProtoReader r)
    {
        var dims = new List<OnnxDim>();
        while (r.TryReadTag(out int field, out var wire))
        {
            if (field != 1)
            {
                r.Skip(wire);
                continue;
            }
            r.Expect(field, "dim", wire, ProtoWireType.LengthDelimited);
            var dimReader = r.ReadMessage($"{r.Where}.dim[{dims.Count}]");
            long? value = null;
            string? param = null;
            while (dimReader.TryReadTag(out int dimField, out var dimWire))
            {
                switch (dimField)
                {
                    case 1:
                        dimReader.Expect(dimField, "dim_value", dimWire, ProtoWireType.Varint);
                        value = dimReader.ReadInt64();
                        if (value < 0)
                            throw dimReader.Error($"dim_value {value} is negative");
                        param = null;
                        break;
                    case 2:
                        dimReader.Expect(dimField, "dim_param", dimWire, ProtoWireType.LengthDelimited);
                        param = dimReader.ReadString();
                        value = null;
                        break;
                    default:
                        dimReader.Skip(dimWire);
                        break;
                }
            }
            dims.Add(new OnnxDim(value, param));
        }
        return dims;
    }

    private OnnxTensor ParseTensor(ref ProtoReader r, string whereByName)
    {
        string name = "";
        var dims = new List<ulong>();
        var dataType = OnnxDataType.Undefined;
        int rawStart = -1, rawLength = 0;
        var floats = new List<float>();
        var int32s = new List<ulong>();
        var int64s = new List<ulong>();
        var doubles = new List<double>();
        var uint64s = new List<ulong>();
        int stringCount = 0;
        var externalEntries = new Dictionary<string, string>();
        bool isExternal = false;
        while (r.TryReadTag(out int field, out var wire))
        {
            switch (field)
            {
                case 1: ReadVarints(ref r, field, "dims", wire, dims); break;
                case 2:
                    r.Expect(field, "data_type", wire, ProtoWireType.Varint);
                    dataType = (OnnxDataType)r.ReadInt32();
                    break;
                case 4: ReadFloats(ref r, field, "float_data", wire, floats); break;
                case 5: ReadVarints(ref r, field, "int32_data", wire, int32s); break;
                case 6:
                    r.Expect(field, "string_data", wire, ProtoWireType.LengthDelimited);
                    r.ReadLengthDelimited(out _);
                    stringCount++;
                    break;
                case 7: ReadVarints(ref r, field, "int64_data", wire, int64s); break;
                case 8:
                    r.Expect(field, "name", wire, ProtoWireType.LengthDelimited);
                    name = r.ReadString();
                    r.Where = $"{whereByName} '{name}'";
                    break;
                case 9:
                    r.Expect(field, "raw_data", wire, ProtoWireType.LengthDelimited);
                    rawStart = r.ReadLengthDelimited(out rawLength);
                    break;
                case 10: ReadDoubles(ref r, field, "double_data", wire, doubles); break;
                case 11: ReadVarints(ref r, field, "uint64_data", wire, uint64s); break;
                case 13:
                    r.Expect(field, "external_data", wire, ProtoWireType.LengthDelimited);
                    var entryReader = r.ReadMessage($"{r.Where}.external_data[{externalEntries.Count}]");
                    var (key, value) = ParseStringEntry(ref entryReader);
                    externalEntries[key] = value;
                    break;
                case 14:
                    r.Expect(field, "data_location", wire, ProtoWireType.Varint);
                    int location = r.ReadInt32();
                    if (location is not (0 or 1))
                        throw r.Error($"data_location {location} is neither DEFAULT (0) nor EXTERNAL (1)");
                    isExternal = location == 1;
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }

        string where = r.Where;
        var shape = new long[dims.Count];
        for (int k = 0; k < shape.Length; k++)
            shape[k] = (long)dims[k];
        long count = ElementCount(shape, where);
        string need = $"dims [{string.Join(", ", shape)}] of {TypeName(dataType)} need";
        int typedFields = (floats.Count > 0 ? 1 : 0) + (int32s.Count > 0 ? 1 : 0) + (int64s.Count > 0 ? 1 : 0)
            + (doubles.Count > 0 ? 1 : 0) + (uint64s.Count > 0 ? 1 : 0) + (stringCount > 0 ? 1 : 0);

        if (isExternal || rawStart >= 0)
        {
            if (typedFields > 0 || (isExternal && rawStart >= 0))
                throw new OnnxFormatException($"{where}: holds its values in more than one of raw_data, typed fields and external data");
            long expectedBytes = ByteCount(dataType, count, where);
            ReadOnlyMemory<byte> raw;
            if (isExternal)
            {
                var external = _external ??= new OnnxExternalData(_baseDirectory, _rented);
                if (_allocateFloats is not null && dataType == OnnxDataType.Float && BitConverter.IsLittleEndian)
                {
                    float[] values = _allocateFloats(checked((int)count));
                    external.ReadInto(where, externalEntries, expectedBytes, need, MemoryMarshal.AsBytes(values.AsSpan()));
                    return OnnxTensor.ReadAhead(name, shape, values);
                }
                raw = external.Read(where, externalEntries, expectedBytes, need);
            }
            else
            {
                if (rawLength != expectedBytes)
                    throw new OnnxFormatException($"{where}: raw_data holds {rawLength} bytes but {need} {expectedBytes}");
                raw = _bytes.Slice(rawStart, rawLength);
            }
            return new OnnxTensor(name, dataType, shape, count, raw, null, isExternal);
        }

        var (fieldName, expected) = TypedField(dataType, count, where);
        int actual = fieldName switch
        {
            "float_data" => floats.Count,
            "int32_data" => int32s.Count,
            "int64_data" => int64s.Count,
            "double_data" => doubles.Count,
            "uint64_data" => uint64s.Count,
            _ => stringCount,
        };
        if (typedFields > (actual > 0 ? 1 : 0))
            throw new OnnxFormatException($"{where}: holds values in a typed field that {TypeName(dataType)} tensors do not use (they use {fieldName})");
        if (actual != expected)
        {
            throw new OnnxFormatException(actual == 0
                ? $"{where}: holds no data but {need} {expected} values in {fieldName} or raw_data"
                : $"{where}: {fieldName} holds {actual} values but {need} {expected}");
        }
        Array? typed = fieldName switch
        {
            "float_data" => floats.ToArray(),
            "int32_data" => int32s.Select(v => (int)(long)v).ToArray(),
            "int64_data" => int64s.Select(v => (long)v).ToArray(),
            "double_data" => doubles.ToArray(),
            "uint64_data" => uint64s.ToArray(),
            _ => null,
        };
        return new OnnxTensor(name, dataType, shape, count, null, typed, false);
    }

    private static (string Key, string Value) ParseStringEntry(ref ProtoReader r)
    {
        string key = "", value = "";
        while (r.TryReadTag(out int field, out var wire))
        {
            switch (field)
            {
                case 1:
                    r.Expect(field, "key", wire, ProtoWireType.LengthDelimited);
                    key = r.ReadString();
                    break;
                case 2:
                    r.Expect(field, "value", wire, ProtoWireType.LengthDelimited);
                    value = r.ReadString();
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
        return (key, value);
    }

    private static long ElementCount(long[] dims, string where)
    {
        long count = 1;
        foreach (long dim in dims)
        {
            if (dim < 0)
                throw new OnnxFormatException($"{where}: dims [{string.Join(", ", dims)}] hold a negative dimension");
            if (dim != 0 && count > long.MaxValue / dim)
                throw new OnnxFormatException($"{where}: dims [{string.Join(", ", dims)}] hold more elements than a 64-bit count can express");
            count *= dim;
        }
        return count;
    }

    /// <summary>The bytes raw_data needs for count elements; 4-bit types pack two per byte.</summary>
    private static long ByteCount(OnnxDataType type, long count, string where)
    {
        int bits = type switch
        {
            OnnxDataType.UInt4 or OnnxDataType.Int4 or OnnxDataType.Float4E2M1 => 4,
            OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool or OnnxDataType.Float8E4M3FN
                or OnnxDataType.Float8E4M3FNUZ or OnnxDataType.Float8E5M2 or OnnxDataType.Float8E5M2FNUZ => 8,
            OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 16,
            OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 32,
            OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Double or OnnxDataType.Complex64 => 64,
            OnnxDataType.Complex128 => 128,
            _ => throw new OnnxFormatException($"{where}: {TypeName(type)} values cannot be stored as raw bytes"),
        };
        if (count > (long.MaxValue - 7) / bits)
            throw new OnnxFormatException($"{where}: {count} elements of {TypeName(type)} need more bytes than a 64-bit count can express");
        return (count * bits + 7) / 8;
    }

    /// <summary>Which typed field onnx.proto assigns to a data type, and how many values it must hold.</summary>
    private static (string Field, long Count) TypedField(OnnxDataType type, long count, string where) => type switch
    {
        OnnxDataType.Float => ("float_data", count),
        OnnxDataType.Complex64 => ("float_data", 2 * count),
        OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.Int8 or OnnxDataType.UInt16 or OnnxDataType.UInt8
            or OnnxDataType.Bool or OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Float8E4M3FN
            or OnnxDataType.Float8E4M3FNUZ or OnnxDataType.Float8E5M2 or OnnxDataType.Float8E5M2FNUZ => ("int32_data", count),
        OnnxDataType.UInt4 or OnnxDataType.Int4 or OnnxDataType.Float4E2M1 => ("int32_data", (count + 1) / 2),
        OnnxDataType.String => ("string_data", count),
        OnnxDataType.Int64 => ("int64_data", count),
        OnnxDataType.Double => ("double_data", count),
        OnnxDataType.Complex128 => ("double_data", 2 * count),
        OnnxDataType.UInt32 or OnnxDataType.UInt64 => ("uint64_data", count),
        _ => throw new OnnxFormatException($"{where}: data type {TypeName(type)} is not a known tensor type"),
    };

    private static string TypeName(OnnxDataType type) =>
        Enum.IsDefined(type) ? type.ToString().ToUpperInvariant() : ((int)type).ToString();

    private static void ReadVarints(ref ProtoReader r, int field, string name, ProtoWireType wire, List<ulong> target)
    {
        if (wire == ProtoWireType.LengthDelimited)
        {
            var packed = r.ReadMessage($"{r.Where}.{name}");
            while (!packed.AtEnd)
                target.Add(packed.ReadVarint());
            return;
        }
        r.Expect(field, name, wire, ProtoWireType.Varint);
        target.Add(r.ReadVarint());
    }

    private static void ReadFloats(ref ProtoReader r, int field, string name, ProtoWireType wire, List<float> target)
    {
        if (wire == ProtoWireType.LengthDelimited)
        {
            var packed = r.ReadMessage($"{r.Where}.{name}");
            int length = r.Position - packed.Position;
            if (length % sizeof(float) != 0)
                throw r.Error($"packed {name} holds {length} bytes, not a multiple of {sizeof(float)}");
            while (!packed.AtEnd)
                target.Add(packed.ReadFloat());
            return;
        }
        r.Expect(field, name, wire, ProtoWireType.Fixed32);
        target.Add(r.ReadFloat());
    }

    private static void ReadDoubles(ref ProtoReader r, int field, string name, ProtoWireType wire, List<double> target)
    {
        if (wire == ProtoWireType.LengthDelimited)
        {
            var packed = r.ReadMessage($"{r.Where}.{name}");
            int length = r.Position - packed.Position;
            if (length % sizeof(double) != 0)
                throw r.Error($"packed {name} holds {length} bytes, not a multiple of {sizeof(double)}");
            while (!packed.AtEnd)
                target.Add(packed.ReadDouble());
            return;
        }
        r.Expect(field, name, wire, ProtoWireType.Fixed64);
        target.Add(r.ReadDouble());
    }
}
