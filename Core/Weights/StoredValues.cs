using System.Buffers.Binary;
using TrtEngine.Core.Tensors;

namespace TrtEngine.Core.Weights;

/// <summary>
/// A checkpoint's stored values (little-endian, of the dtypes safetensors names) converted to float32, the engine's
/// type: F16 and BF16 exactly, F64 rounded to nearest (one beyond float32's range is refused), integers as numbers.
/// </summary>
internal static class StoredValues
{
    /// <summary>Bytes a value of <paramref name="dtype"/> takes; 0 for a dtype that is not read.</summary>
    public static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => 0,
    };

    /// <summary>Whether values of <paramref name="dtype"/> are integers (counters, indices, masks), not float weights.</summary>
    public static bool IsInteger(string dtype) => dtype is "I64" or "I32" or "I16" or "I8" or "U8" or "BOOL";

    /// <param name="where">The file and tensor, for the refusal of a float64 beyond float32's range.</param>
    public static void ToFloat32(string dtype, ReadOnlySpan<byte> bytes, Span<float> data, string where)
    {
        // One loop per dtype: a switch per value cost a converted checkpoint several times its read.
        switch (dtype)
        {
            case "F32":
                for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case "F16":
                for (int i = 0; i < data.Length; i++) data[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                break;
            case "BF16":
                for (int i = 0; i < data.Length; i++) data[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                break;
            case "F64":
                for (int i = 0; i < data.Length; i++)
                {
                    double value = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                    data[i] = ExactFloat32.Holds(value, out float single) ? single : throw new WeightFormatException($"{where}: {ExactFloat32.BeyondRange(value, i)}");
                }
                break;
            case "I64":
                for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
                break;
            case "I32":
                for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]);
                break;
            case "I16":
                for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * i)..]);
                break;
            case "I8":
                for (int i = 0; i < data.Length; i++) data[i] = (sbyte)bytes[i];
                break;
            case "U8" or "BOOL":
                for (int i = 0; i < data.Length; i++) data[i] = bytes[i];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a dtype of stored values.");
        }
    }
}
