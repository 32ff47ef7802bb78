using System.Buffers.Binary;
using System.Globalization;
using TrtEngine.Core.Onnx;

namespace TrtEngine.Testing.Onnx;

/// <summary>
/// A tensor to write: Values is float[] for FLOAT, FLOAT16 and BFLOAT16, double[] for DOUBLE,
/// int[] for INT32, long[] for INT64 and bool[] for BOOL.
/// </summary>
public sealed record TensorValue(OnnxDataType DataType, long[] Dims, Array Values)
{
    public static TensorValue Float(float[] values, params long[] dims) => new(OnnxDataType.Float, dims, values);

    /// <summary>A rank-0 FLOAT tensor, as Constant nodes carry scalars.</summary>
    public static TensorValue Scalar(float value) => new(OnnxDataType.Float, [], new[] { value });

    public static TensorValue Float16(float[] values, params long[] dims) => new(OnnxDataType.Float16, dims, values);

    public static TensorValue BFloat16(float[] values, params long[] dims) => new(OnnxDataType.BFloat16, dims, values);

    public static TensorValue Double(double[] values, params long[] dims) => new(OnnxDataType.Double, dims, values);

    public static TensorValue Int32(int[] values, params long[] dims) => new(OnnxDataType.Int32, dims, values);

    public static TensorValue Int64(long[] values, params long[] dims) => new(OnnxDataType.Int64, dims, values);

    public static TensorValue Bool(bool[] values, params long[] dims) => new(OnnxDataType.Bool, dims, values);

    /// <summary>Writes the TensorProto fields (not the enclosing tag).</summary>
    internal void Write(ProtoWriter w, string name, TensorEncoding encoding, ExternalDataWriter? external)
    {
        foreach (long dim in Dims)
            w.WriteInt64(1, dim);
        w.WriteInt64(2, (long)DataType);
        w.WriteString(8, name);
        switch (encoding)
        {
            case TensorEncoding.Raw:
                w.WriteBytes(9, RawBytes());
                break;
            case TensorEncoding.External:
                if (external is null)
                    throw new InvalidOperationException($"tensor '{name}' is External: save the model to a path");
                long offset = external.Append(RawBytes());
                WriteExternalEntry(w, "location", external.Location);
                WriteExternalEntry(w, "offset", offset.ToString(CultureInfo.InvariantCulture));
                WriteExternalEntry(w, "length", RawBytes().Length.ToString(CultureInfo.InvariantCulture));
                w.WriteInt64(14, 1);
                break;
            default:
                WriteTyped(w, encoding == TensorEncoding.TypedPacked);
                break;
        }
    }

    internal static void WriteExternalEntry(ProtoWriter w, string key, string value) =>
        w.WriteMessage(13, entry =>
        {
            entry.WriteString(1, key);
            entry.WriteString(2, value);
        });

    private void WriteTyped(ProtoWriter w, bool packed)
    {
        switch (DataType)
        {
            case OnnxDataType.Float:
                var floats = (float[])Values;
                if (packed)
                    w.WritePackedFloats(4, floats);
                else
                    Array.ForEach(floats, v => w.WriteFloat(4, v));
                break;
            case OnnxDataType.Double:
                var doubles = (double[])Values;
                if (packed)
                    w.WritePackedDoubles(10, doubles);
                else
                    Array.ForEach(doubles, v => w.WriteDouble(10, v));
                break;
            case OnnxDataType.Int64:
                WriteVarints(w, 7, (long[])Values, packed);
                break;
            default:
                // int32_data carries INT32 values and the 16-bit float types as bit patterns.
                WriteVarints(w, 5, Int32Field(), packed);
                break;
        }
    }

    private static void WriteVarints(ProtoWriter w, int field, long[] values, bool packed)
    {
        if (packed)
            w.WritePackedVarints(field, values);
        else
            Array.ForEach(values, v => w.WriteInt64(field, v));
    }

    private long[] Int32Field() => DataType switch
    {
        OnnxDataType.Int32 => ((int[])Values).Select(v => (long)v).ToArray(),
        OnnxDataType.Bool => ((bool[])Values).Select(v => v ? 1L : 0L).ToArray(),
        OnnxDataType.Float16 => ((float[])Values).Select(v => (long)BitConverter.HalfToUInt16Bits((Half)v)).ToArray(),
        OnnxDataType.BFloat16 => ((float[])Values).Select(v => (long)ToBFloat16Bits(v)).ToArray(),
        _ => throw new NotSupportedException($"TensorValue cannot write {DataType}"),
    };

    private byte[] RawBytes()
    {
        switch (DataType)
        {
            case OnnxDataType.Float:
                return ((float[])Values).SelectMany(v => Bytes(4, b => BinaryPrimitives.WriteSingleLittleEndian(b, v))).ToArray();
            case OnnxDataType.Double:
                return ((double[])Values).SelectMany(v => Bytes(8, b => BinaryPrimitives.WriteDoubleLittleEndian(b, v))).ToArray();
            case OnnxDataType.Int32:
                return ((int[])Values).SelectMany(v => Bytes(4, b => BinaryPrimitives.WriteInt32LittleEndian(b, v))).ToArray();
            case OnnxDataType.Int64:
                return ((long[])Values).SelectMany(v => Bytes(8, b => BinaryPrimitives.WriteInt64LittleEndian(b, v))).ToArray();
            case OnnxDataType.Bool:
                return ((bool[])Values).Select(v => v ? (byte)1 : (byte)0).ToArray();
            default:
                return Int32Field().SelectMany(v => Bytes(2, b => BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v))).ToArray();
        }
    }

    private static byte[] Bytes(int size, Action<byte[]> write)
    {
        var bytes = new byte[size];
        write(bytes);
        return bytes;
    }

    /// <summary>Rounds to the nearest bfloat16, ties to even (NaN is not expected in fixtures).</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
