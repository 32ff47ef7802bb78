using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Plan;

/// <summary>Reads plan primitives from memory, refusing any length the remaining bytes cannot hold before allocating.</summary>
internal sealed class PlanReader(ReadOnlyMemory<byte> data)
{
    private int _pos;

    public int Remaining => data.Length - _pos;

    private ReadOnlySpan<byte> Take(long count, string what)
    {
        if (count < 0 || count > Remaining)
            throw new PlanFormatException($"The plan is truncated or corrupt: {what} needs {count} bytes at offset {_pos}, {Remaining} remain.");
        var span = data.Span.Slice(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    public bool ReadBool() => Take(1, "a flag")[0] switch
    {
        0 => false,
        1 => true,
        var b => throw new PlanFormatException($"The plan is corrupt: a flag holds {b} at offset {_pos - 1}."),
    };

    public byte ReadByte() => Take(1, "a byte")[0];
    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4, "an integer"));
    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8, "an integer"));
    public float ReadSingle() => BinaryPrimitives.ReadSingleLittleEndian(Take(4, "a number"));
    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, "a number"));

    public int ReadInt(int min, int max)
    {
        int v = ReadInt32();
        if (v < min || v > max) throw new PlanFormatException($"The plan is corrupt: {v} at offset {_pos - 4} is outside [{min}, {max}].");
        return v;
    }

    public int ReadPositiveInt() => ReadInt(1, int.MaxValue);

    public T ReadEnum<T>() where T : struct, Enum
    {
        byte b = ReadByte();
        T v = (T)Enum.ToObject(typeof(T), b);
        if (!Enum.IsDefined(v)) throw new PlanFormatException($"The plan is corrupt: {b} at offset {_pos - 1} is not a {typeof(T).Name}.");
        return v;
    }

    private int ReadCount(int elementSize, string what)
    {
        int n = ReadInt32();
        if (n < 0 || (long)n * elementSize > Remaining)
            throw new PlanFormatException($"The plan is truncated or corrupt: {what} claims {n} elements at offset {_pos - 4}, {Remaining} bytes remain.");
        return n;
    }

    public string ReadString()
    {
        int n = ReadCount(1, "a string");
        return Encoding.UTF8.GetString(Take(n, "a string"));
    }

    public int[] ReadInt32Array()
    {
        int n = ReadCount(4, "an integer list");
        return MemoryMarshal.Cast<byte, int>(Take(n * 4L, "an integer list")).ToArray();
    }

    public int[] ReadShape()
    {
        int[] shape = ReadInt32Array();
        if (shape.Length > 16) throw new PlanFormatException($"The plan is corrupt: a shape of rank {shape.Length}.");
        foreach (int d in shape)
            if (d < -1) throw new PlanFormatException($"The plan is corrupt: a shape has dimension {d}.");
        return shape;
    }

    public long[] ReadInt64Array()
    {
        int n = ReadCount(8, "an integer list");
        return MemoryMarshal.Cast<byte, long>(Take(n * 8L, "an integer list")).ToArray();
    }

    public string[] ReadStringArray()
    {
        int n = ReadCount(4, "a string list");
        var result = new string[n];
        for (int i = 0; i < n; i++) result[i] = ReadString();
        return result;
    }

    public float[] ReadSingleArray()
    {
        int n = ReadCount(4, "a float list");
        return MemoryMarshal.Cast<byte, float>(Take(n * 4L, "a float list")).ToArray();
    }

    /// <summary>Reads floats straight into a pinned buffer (engine weights are read through pointers).</summary>
    public float[] ReadPinnedSingleArray(long expected, string name)
    {
        int n = ReadCount(4, $"weight '{name}'");
        if (n != expected) throw new PlanFormatException($"The plan is corrupt: weight '{name}' holds {n} values, its recipe makes {expected}.");
        var result = GC.AllocateUninitializedArray<float>(n, pinned: true);
        CopyKernels.CopyFloats(MemoryMarshal.Cast<byte, float>(Take(n * 4L, $"weight '{name}'")), result);
        return result;
    }

    public Activation ReadActivation() => new(ReadEnum<ActivationKind>(), ReadSingle(), ReadSingle());
}
