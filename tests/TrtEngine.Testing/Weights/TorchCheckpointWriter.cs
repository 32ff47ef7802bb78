using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace TrtEngine.Testing.Weights;

/// <summary>
/// Writes floating-point state dicts as torch.save does (its zip layout and a protocol-2 pickle of an OrderedDict of
/// _rebuild_tensor_v2 calls, one storage per tensor), for tests and benchmarks of models the repository has no torch
/// checkpoint of. The reader is checked against torch's own files (tests/fixtures/checkpoints); this writer against them too.
/// </summary>
public static class TorchCheckpointWriter
{
    /// <param name="shareFirst">
    /// Every tensor a view of the first one's storage (its first values), as tied weights are saved; the others' data
    /// is not written.
    /// </param>
    /// <param name="dtype">How the storages hold the values: F32, F16 or BF16 (torch's FloatStorage, HalfStorage, BFloat16Storage).</param>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, bool shareFirst = false, string dtype = "F32")
    {
        var list = tensors.ToList();
        string prefix = Path.GetFileNameWithoutExtension(path) + "/";
        File.Delete(path);
        using var archive = ZipFile.Open(path, ZipArchiveMode.Create);
        WriteEntry(archive, prefix + "data.pkl", Pickle(list, shareFirst, dtype));
        WriteEntry(archive, prefix + "byteorder", "little"u8.ToArray());
        for (int i = 0; i < (shareFirst ? 1 : list.Count); i++) WriteEntry(archive, $"{prefix}data/{i}", SafetensorsWriter.Encode(list[i].Data, dtype));
        WriteEntry(archive, prefix + "version", "3\n"u8.ToArray());
    }

    /// <summary>Writes <paramref name="pickle"/> as a checkpoint's data.pkl, alone in its archive: for tests of what a checkpoint may hold.</summary>
    public static void WritePickle(string path, byte[] pickle)
    {
        File.Delete(path);
        using var archive = ZipFile.Open(path, ZipArchiveMode.Create);
        WriteEntry(archive, Path.GetFileNameWithoutExtension(path) + "/data.pkl", pickle);
    }

    private static void WriteEntry(ZipArchive archive, string name, byte[] bytes)
    {
        using var stream = archive.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(bytes);
    }

    private static byte[] Pickle(List<(string Name, int[] Shape, float[] Data)> tensors, bool shareFirst, string dtype)
    {
        var p = new List<byte> { 0x80, 2 };
        Global(p, "collections", "OrderedDict");
        p.Add((byte)')');
        p.Add((byte)'R');
        p.Add((byte)'(');
        for (int i = 0; i < tensors.Count; i++)
        {
            var (name, shape, data) = tensors[i];
            Text(p, name);
            Global(p, "torch._utils", "_rebuild_tensor_v2");
            p.Add((byte)'(');
            p.Add((byte)'(');
            Text(p, "storage");
            Global(p, "torch", dtype switch { "F32" => "FloatStorage", "F16" => "HalfStorage", "BF16" => "BFloat16Storage", _ => throw new ArgumentException($"dtype '{dtype}' is not one of F32, F16, BF16", nameof(dtype)) });
            Text(p, (shareFirst ? 0 : i).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Text(p, "cpu");
            Int(p, shareFirst ? tensors[0].Data.Length : data.Length);
            p.Add((byte)'t');
            p.Add((byte)'Q');
            Int(p, 0);
            Tuple(p, shape);
            var strides = new int[shape.Length];
            for (int d = shape.Length - 1, step = 1; d >= 0; step *= shape[d], d--) strides[d] = step;
            Tuple(p, strides);
            p.Add(0x89);
            Global(p, "collections", "OrderedDict");
            p.Add((byte)')');
            p.Add((byte)'R');
            p.Add((byte)'t');
            p.Add((byte)'R');
        }
        p.Add((byte)'u');
        p.Add((byte)'.');
        return [.. p];
    }

    private static void Global(List<byte> p, string module, string name)
    {
        p.Add((byte)'c');
        p.AddRange(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    private static void Text(List<byte> p, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        p.Add((byte)'X');
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
        p.AddRange(length);
        p.AddRange(bytes);
    }

    private static void Int(List<byte> p, int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        p.Add((byte)'J');
        p.AddRange(bytes);
    }

    private static void Tuple(List<byte> p, int[] values)
    {
        p.Add((byte)'(');
        foreach (int v in values) Int(p, v);
        p.Add((byte)'t');
    }
}
