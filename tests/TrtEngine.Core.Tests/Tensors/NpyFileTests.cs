using System.Buffers.Binary;
using System.Text;
using TrtEngine.Core.Tensors;
using TrtEngine.Testing.Metrics;

namespace TrtEngine.Core.Tests.Tensors;

/// <summary>
/// .npy reading and writing against byte fixtures laid out exactly as numpy writes them (built here, byte by byte),
/// round trips, conversions, and every kind of malformed file as a typed error.
/// </summary>
public sealed class NpyFileTests
{
    /// <summary>A .npy file as numpy lays it out: magic, version, header length, the dict padded with spaces and a newline to <paramref name="align"/>, the data.</summary>
    private static byte[] Fixture(string header, byte[] data, int major = 1, int align = 64)
    {
        int lengthBytes = major == 1 ? 2 : 4;
        int padding = align - (6 + 2 + lengthBytes + header.Length + 1) % align;
        byte[] text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header + new string(' ', padding) + "\n");
        var file = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 };
        var length = new byte[lengthBytes];
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)text.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)text.Length);
        file.AddRange(length);
        file.AddRange(text);
        file.AddRange(data);
        return [.. file];
    }

    private static byte[] Bytes<T>(T[] values, Action<byte[], T> write, int size)
    {
        var bytes = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            var one = new byte[size];
            write(one, values[i]);
            one.CopyTo(bytes, i * size);
        }
        return bytes;
    }

    private static byte[] Floats(params float[] v) => Bytes(v, (b, x) => BinaryPrimitives.WriteSingleLittleEndian(b, x), 4);

    private static Engines.TrtTensor Read(byte[] file) => NpyFile.Read(new MemoryStream(file), "t");

    private static string Error(byte[] file) => Assert.Throws<NpyFormatException>(() => Read(file)).Message;

    [Theory]
    [InlineData(1, 64)]
    [InlineData(1, 16)] // numpy before 1.14 aligned the data to 16 bytes
    [InlineData(2, 64)]
    [InlineData(3, 64)]
    public void Reads_numpys_layout_in_every_version(int major, int align)
    {
        var t = Read(Fixture("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Floats(1, 2, 3, 4, 5, 6.5f), major, align));
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6.5f], t.Data);
        Assert.Equal("Float32", t.DataType);
    }

    [Fact]
    public void Writes_numpys_exact_layout()
    {
        using var stream = new MemoryStream();
        NpyFile.Write(stream, [2, 3], new float[] { 1, 2, 3, 4, 5, 6.5f });
        Assert.Equal(Fixture("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Floats(1, 2, 3, 4, 5, 6.5f)), stream.ToArray());
        Assert.Equal(128, stream.Length - 6 * sizeof(float)); // numpy puts this header's data at byte 128
    }

    /// <summary>An integer or bool tensor (an engine's int64 output) as numpy's own type, read back as the same values.</summary>
    [Theory]
    [InlineData("Int64", "<i8", 8)]
    [InlineData("Int32", "<i4", 4)]
    [InlineData("Bool", "|b1", 1)]
    public void Writes_integer_and_bool_tensors_as_their_type(string dataType, string descr, int size)
    {
        float[] data = dataType == "Bool" ? [1, 0, 0, 1, 1, 0] : [3, -7, 16777216, 0, 42, -1];
        using var stream = new MemoryStream();
        NpyFile.Write(stream, [2, 3], data, dataType);
        byte[] file = stream.ToArray();
        Assert.Contains($"'descr': '{descr}'", Encoding.Latin1.GetString(file));
        Assert.Equal(0, (file.Length - 6 * size) % 64);
        Assert.Equal(data, Read(file).Data);
    }

    [Theory]
    [InlineData(new int[0], "()")]
    [InlineData(new[] { 5 }, "(5,)")]
    [InlineData(new[] { 2, 1, 3, 4 }, "(2, 1, 3, 4)")]
    [InlineData(new[] { 3, 0 }, "(3, 0)")]
    public void Round_trips_any_rank_with_python_tuple_syntax(int[] shape, string tuple)
    {
        int count = shape.Aggregate(1, (a, d) => a * d);
        float[] data = ErrorMetrics.RandomValues(7, count);
        using var stream = new MemoryStream();
        NpyFile.Write(stream, shape, data);
        byte[] file = stream.ToArray();
        Assert.Contains($"'shape': {tuple}, }}", Encoding.Latin1.GetString(file));
        Assert.Equal(0, (file.Length - count * 4) % 64);
        var back = Read(file);
        Assert.Equal(shape, back.Shape);
        Assert.Equal(data, back.Data);
    }

    [Fact]
    public void Round_trips_through_a_file_named_after_the_tensor()
    {
        string dir = Directory.CreateTempSubdirectory("npy-").FullName;
        try
        {
            string path = Path.Combine(dir, "logits.npy");
            float[] data = ErrorMetrics.RandomValues(3, 20);
            using (var file = File.Create(path)) NpyFile.Write(file, [2, 10], data);
            var t = NpyFile.Read(path);
            Assert.Equal("logits", t.Name);
            Assert.Equal(data, t.Data);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Converts_float64_float16_integers_and_booleans()
    {
        Assert.Equal([0.5f, -2f], Read(Fixture("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", Bytes([0.5, -2.0], (b, x) => BinaryPrimitives.WriteDoubleLittleEndian(b, x), 8))).Data);
        Assert.Equal([1.5f], Read(Fixture("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", Bytes([(Half)1.5f], (b, x) => BinaryPrimitives.WriteHalfLittleEndian(b, x), 2))).Data);
        Assert.Equal([-3f, 16777216f], Read(Fixture("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", Bytes([-3L, 1L << 24], (b, x) => BinaryPrimitives.WriteInt64LittleEndian(b, x), 8))).Data);
        Assert.Equal([7f, -1f], Read(Fixture("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", Bytes([7, -1], (b, x) => BinaryPrimitives.WriteInt32LittleEndian(b, x), 4))).Data);
        Assert.Equal([255f, 0f], Read(Fixture("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", [255, 0])).Data);
        Assert.Equal([1f, 0f], Read(Fixture("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", [1, 0])).Data);
        Assert.Equal([2.5f], Read(Fixture("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", Bytes([2.5f], (b, x) => BinaryPrimitives.WriteSingleBigEndian(b, x), 4))).Data);
    }

    [Fact]
    public void Reads_python2_long_shapes_double_quotes_and_a_one_dimensional_fortran_array()
    {
        Assert.Equal([2, 1], Read(Fixture("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }", Floats(1, 2))).Shape);
        Assert.Equal([2], Read(Fixture("{\"descr\": \"<f4\", \"fortran_order\": True, \"shape\": (2,)}", Floats(1, 2))).Shape);
    }

    [Fact]
    public void Refuses_values_float32_cannot_hold()
    {
        Assert.Contains("cannot be represented exactly", Error(Fixture("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", Bytes([(1L << 24) + 1], (b, x) => BinaryPrimitives.WriteInt64LittleEndian(b, x), 8))));
        Assert.Contains("outside float32's range", Error(Fixture("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", Bytes([1e300], (b, x) => BinaryPrimitives.WriteDoubleLittleEndian(b, x), 8))));
    }

    [Theory]
    [InlineData("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "'<c8' is not supported")]
    [InlineData("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "'|O' is not supported")]
    [InlineData("{'descr': '<U4', 'fortran_order': False, 'shape': (1,), }", "'<U4' is not supported")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "structured dtype")]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "Fortran")]
    [InlineData("{'descr': '<f4', 'shape': (2,), }", "exactly descr, fortran_order and shape")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }", "unexpected")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "non-negative integer")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "expected '}'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", "text follows")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", "unexpected '0'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }", "more elements than a tensor can hold")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "needs 12 bytes of data, but the file has 8 (truncated?)")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "needs 4 bytes of data, but the file has 8")]
    public void Refuses_malformed_headers_with_a_message_that_says_what_is_wrong(string header, string message)
    {
        Assert.Contains(message, Error(Fixture(header, Floats(1, 2))));
    }

    [Fact]
    public void Refuses_bad_preambles_before_reading_the_header()
    {
        byte[] good = Fixture("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Floats(1));
        Assert.Contains("not a .npy file", Error([.. "PK"u8, .. good[2..]]));
        Assert.Contains("not a .npy file", Error(good[..5]));
        byte[] v4 = (byte[])good.Clone();
        v4[6] = 4;
        Assert.Contains("version 4.0 is not supported", Error(v4));
        byte[] longHeader = (byte[])good.Clone();
        longHeader[6] = 2;
        BinaryPrimitives.WriteUInt32LittleEndian(longHeader.AsSpan(8), 2_000_000_000);
        Assert.Contains("headers longer than", Error(longHeader));
        byte[] beyond = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(beyond.AsSpan(8), 60_000);
        Assert.Contains("the file has only", Error(beyond));
    }

    [Fact]
    public void Names_the_file_in_errors_read_from_disk()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, Fixture("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Floats(1, 2, 3, 4)));
            var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(path));
            Assert.Equal(path, e.FilePath);
            Assert.StartsWith(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Refuses_to_write_data_that_does_not_fill_the_shape()
    {
        Assert.Throws<ArgumentException>(() => NpyFile.Write(Stream.Null, [2, 3], new float[5]));
    }
}
