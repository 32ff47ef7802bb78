using System.Buffers.Binary;
using TrtEngine.Core.Tensors;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// A TensorProto: an initializer or an attribute value. Its values stay in the form the file
/// holds them (raw little-endian bytes, or one of the typed repeated fields) until decoded.
/// </summary>
public sealed class OnnxTensor
{
    // float[], int[], long[], double[] or ulong[]: the typed field the data type uses.
    private readonly Array? _typedData;

    // Values decoded ahead of their use (a refit's read decodes each initializer as it is parsed); the next decode
    // into an allocated array takes them instead of decoding again.
    private float[]? _decodedAhead;

    internal OnnxTensor(string name, OnnxDataType dataType, long[] dims, long elementCount,
        ReadOnlyMemory<byte>? rawData, Array? typedData, bool isExternal)
    {
        Name = name;
        DataType = dataType;
        Dims = dims;
        ElementCount = elementCount;
        RawData = rawData;
        _typedData = typedData;
        IsExternal = isExternal;
    }

    /// <summary>
    /// A float32 tensor whose values were read straight into <paramref name="values"/> (external data): its first
    /// decode into an allocated array returns that array. Checked for NaN and infinity here, where a decode's copy
    /// would have checked them, so a refit that adopts the values as they are need not scan them.
    /// </summary>
    internal static OnnxTensor ReadAhead(string name, long[] dims, float[] values)
    {
        if (WeightScan.FirstNonFinite(values) < 0) WeightPool.MarkFinite(values);
        return new OnnxTensor(name, OnnxDataType.Float, dims, values.Length, null, values, isExternal: true) { _decodedAhead = values };
    }

    public string Name { get; }

    public OnnxDataType DataType { get; }

    public long[] Dims { get; }

    /// <summary>The product of Dims (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>The little-endian bytes of raw_data or of external data; null when typed fields hold the values.</summary>
    public ReadOnlyMemory<byte>? RawData { get; }

    /// <summary>True when the values came from a file next to the model (data_location = EXTERNAL).</summary>
    public bool IsExternal { get; }

    /// <summary>Decodes the values as float32, converting from any floating point or integer type.</summary>
    public float[] ToSingleArray() => ToSingleArray(n => GC.AllocateUninitializedArray<float>(n));

    /// <summary>Whether a type is floating point (float32 or another width that decodes to it).</summary>
    internal static bool IsFloatingPoint(OnnxDataType type) => type is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16;

    /// <summary>
    /// Decodes the values as float32 into an array from <paramref name="allocate"/> now; the next
    /// <see cref="ToSingleArray(Func{int, float[]})"/> returns that array.
    /// </summary>
    internal float[] DecodeAhead(Func<int, float[]> allocate) => _decodedAhead = ToSingleArray(allocate);

    /// <summary>Decodes the values as float32 into an array from <paramref name="allocate"/>, which gets the element count.</summary>
    internal float[] ToSingleArray(Func<int, float[]> allocate)
    {
        if (_decodedAhead is { } ahead)
        {
            _decodedAhead = null;
            return ahead;
        }
        // Checked before allocating: 4-bit types hold more elements than their bytes.
        if (!IsInteger(DataType) && !IsFloatingPoint(DataType))
            throw Unsupported();
        // Every element is written below: the model's weights need not be cleared first.
        var result = allocate(checked((int)ElementCount));
        if (RawData is { } raw)
            DecodeRaw(raw.Span, result);
        else
            DecodeTyped(result);
        return result;
    }

    /// <summary>Decodes integer or bool values as int64.</summary>
    public long[] ToInt64Array()
    {
        if (!IsInteger(DataType))
            throw Unsupported();
        var result = new long[ElementCount];
        if (RawData is { } raw)
            DecodeRaw(raw.Span, result);
        else
            DecodeTyped(result);
        return result;
    }

    public override string ToString() => $"{Name}: {DataType}[{string.Join(", ", Dims)}]";

    private unsafe void DecodeRaw(ReadOnlySpan<byte> raw, float[] result)
    {
        if (DataType == OnnxDataType.Float && BitConverter.IsLittleEndian)
        {
            // The parser checked the length; a copy through pointers must not rest on that alone.
            if (raw.Length != (long)result.Length * sizeof(float))
                throw new InvalidOperationException($"Tensor '{Name}' holds {raw.Length} bytes for {result.Length} floats.");
            // Checked for NaN and infinity as it is copied, at the copy's speed: a refit that adopts the values as they
            // are (an engine weight that is the model weight itself) then need not scan them (mlp's cache hit: 70 µs).
            fixed (byte* source = raw)
            fixed (float* target = result)
                if (PackingKernels.CopyFinite((float*)source, target, result.Length))
                    WeightPool.MarkFinite(result);
            return;
        }
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DataType switch
            {
                OnnxDataType.Float => BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(4 * i)),
                OnnxDataType.Double => Narrow(BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(8 * i)), i),
                OnnxDataType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(raw.Slice(2 * i)),
                OnnxDataType.BFloat16 => BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(2 * i))),
                _ => RawInteger(raw, i),
            };
        }
    }

    private void DecodeRaw(ReadOnlySpan<byte> raw, long[] result)
    {
        for (int i = 0; i < result.Length; i++)
            result[i] = RawInteger(raw, i);
    }

    private long RawInteger(ReadOnlySpan<byte> raw, int i) => DataType switch
    {
        OnnxDataType.Int8 => (sbyte)raw[i],
        OnnxDataType.UInt8 or OnnxDataType.Bool => raw[i],
        OnnxDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw.Slice(2 * i)),
        OnnxDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(2 * i)),
        OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(4 * i)),
        OnnxDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(4 * i)),
        OnnxDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(8 * i)),
        _ => throw Unsupported(),
    };

    private void DecodeTyped(float[] result)
    {
        switch (_typedData)
        {
            case float[] floats when DataType == OnnxDataType.Float:
                CopyKernels.CopyFloats(floats, result);
                break;
            case double[] doubles when DataType == OnnxDataType.Double:
                for (int i = 0; i < result.Length; i++)
                    result[i] = Narrow(doubles[i], i);
                break;
            case int[] ints when DataType == OnnxDataType.Float16:
                for (int i = 0; i < result.Length; i++)
                    result[i] = (float)BitConverter.UInt16BitsToHalf((ushort)ints[i]);
                break;
            case int[] ints when DataType == OnnxDataType.BFloat16:
                for (int i = 0; i < result.Length; i++)
                    result[i] = BFloat16ToSingle((ushort)ints[i]);
                break;
            default:
                var integers = new long[result.Length];
                DecodeTyped(integers);
                for (int i = 0; i < result.Length; i++)
                    result[i] = integers[i];
                break;
        }
    }

    private void DecodeTyped(long[] result)
    {
        switch (_typedData)
        {
            case long[] longs when DataType == OnnxDataType.Int64:
                longs.CopyTo(result, 0);
                break;
            case ulong[] ulongs when DataType == OnnxDataType.UInt32:
                for (int i = 0; i < result.Length; i++)
                    result[i] = (uint)ulongs[i];
                break;
            case int[] ints when DataType is OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.Int8
                or OnnxDataType.UInt16 or OnnxDataType.UInt8 or OnnxDataType.Bool:
                // int32_data holds the narrower types as their values, one per element.
                for (int i = 0; i < result.Length; i++)
                    result[i] = ints[i];
                break;
            default:
                // An empty tensor may have no typed field at all.
                if (result.Length > 0)
                    throw Unsupported();
                break;
        }
    }

    private static bool IsInteger(OnnxDataType type) => type is OnnxDataType.Int8 or OnnxDataType.UInt8
        or OnnxDataType.Bool or OnnxDataType.Int16 or OnnxDataType.UInt16 or OnnxDataType.Int32
        or OnnxDataType.UInt32 or OnnxDataType.Int64;

    private float Narrow(double value, int index) =>
        ExactFloat32.Holds(value, out float single) ? single : throw new OnnxFormatException($"tensor '{Name}': {ExactFloat32.BeyondRange(value, index)}.");

    private static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    private NotSupportedException Unsupported() =>
        new($"tensor '{Name}': cannot convert {DataType} values to this type");
}
