using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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

    /// <summary>
    /// Bytes of stored values a reader converts at a time: through a buffer this small, reused, a half-width or float64
    /// checkpoint's read makes no array of its tensors' size (each was large-object garbage at every refit from it).
    /// </summary>
    public const int ChunkBytes = 64 << 10;

    /// <param name="where">The file and tensor, for the refusal of a float64 beyond float32's range.</param>
    /// <param name="firstIndex">The tensor's index of the first value converted (a chunk's), for that refusal.</param>
    public static void ToFloat32(string dtype, ReadOnlySpan<byte> bytes, Span<float> data, string where, long firstIndex = 0)
    {
        // One loop per dtype: a switch per value cost a converted checkpoint several times its read.
        switch (dtype)
        {
            case "F32":
                for (int i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case "F16" or "BF16":
                HalfWidthToSingle(bytes, data, brain: dtype == "BF16");
                break;
            case "F64":
                DoubleToSingle(bytes, data, where, firstIndex);
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

    /// <summary>Vectors of values where the machine has them (a value at a time, float16 took 7 ns: 9× a float32 checkpoint's read).</summary>
    private static bool Vectors => Vector256.IsHardwareAccelerated && BitConverter.IsLittleEndian;

    // The converters are optimized from their first call: a refit calls them a few dozen times, too few for tiering to
    // reach, and their vector operations unoptimized are calls (MobileNetV2's float16 refit through the cmdlet took
    // 20 ms against 6.6 from float32).

    /// <summary>
    /// IEEE half precision (<paramref name="brain"/>: bfloat16, a single's upper half) to single, exactly: subnormals,
    /// infinities and NaN as the casts give them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HalfWidthToSingle(ReadOnlySpan<byte> bytes, Span<float> data, bool brain)
    {
        int i = 0;
        if (Vectors)
        {
            var halves = MemoryMarshal.Cast<byte, ushort>(bytes);
            var singles = MemoryMarshal.Cast<float, uint>(data);
            for (; i <= data.Length - 16; i += 16)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(halves.Slice(i, 16)));
                (brain ? low << 16 : HalfBitsToSingleBits(low)).CopyTo(singles.Slice(i, 8));
                (brain ? high << 16 : HalfBitsToSingleBits(high)).CopyTo(singles.Slice(i + 8, 8));
            }
        }
        for (; i < data.Length; i++)
            data[i] = brain ? BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16)
                : (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
    }

    /// <summary>
    /// A half's bits (in the low 16 of each lane) as a single's: exponent and mantissa moved up and the exponent rebased;
    /// an infinity's or NaN's exponent rebased to all ones (a NaN made quiet); a zero or subnormal made by a subtraction that is exact.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> HalfBitsToSingleBits(Vector256<uint> half)
    {
        var bits = (half & Vector256.Create(0x7fffu)) << 13;
        var exponent = bits & Vector256.Create(0x0f800000u);
        bits += Vector256.Create(0x38000000u);
        var infinityOrNaN = Vector256.Equals(exponent, Vector256.Create(0x0f800000u));
        bits += infinityOrNaN & Vector256.Create(0x38000000u);
        // A NaN comes out quiet, as the cast (and the processor's own conversion) makes it.
        bits |= infinityOrNaN & ~Vector256.Equals(bits & Vector256.Create(0x007fffffu), Vector256<uint>.Zero) & Vector256.Create(0x00400000u);
        // 2^-14 (the half's smallest normal) added through the exponent, then taken off as a float.
        var small = ((bits + Vector256.Create(0x00800000u)).AsSingle() - Vector256.Create(0x38800000u).AsSingle()).AsUInt32();
        bits = Vector256.ConditionalSelect(Vector256.Equals(exponent, Vector256<uint>.Zero), small, bits);
        return bits | ((half & Vector256.Create(0x8000u)) << 16);
    }

    /// <summary>Rounded to nearest, as the cast does; eight at a time until a block holds an infinity, which the scalar loop then judges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DoubleToSingle(ReadOnlySpan<byte> bytes, Span<float> data, string where, long firstIndex)
    {
        int i = 0;
        if (Vectors)
        {
            var doubles = MemoryMarshal.Cast<byte, double>(bytes);
            for (; i <= data.Length - 8; i += 8)
            {
                var singles = Vector256.Narrow(Vector256.Create(doubles.Slice(i, 4)), Vector256.Create(doubles.Slice(i + 4, 4)));
                if (Vector256.EqualsAny(Vector256.Abs(singles), Vector256.Create(float.PositiveInfinity))) break;
                singles.CopyTo(data.Slice(i, 8));
            }
        }
        for (; i < data.Length; i++)
        {
            double value = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
            data[i] = ExactFloat32.Holds(value, out float single) ? single : throw new WeightFormatException($"{where}: {ExactFloat32.BeyondRange(value, firstIndex + i)}");
        }
    }
}
