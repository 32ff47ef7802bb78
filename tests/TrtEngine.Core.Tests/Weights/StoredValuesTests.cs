using System.Buffers.Binary;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Refit;
using TrtEngine.Testing.Fixtures;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Core.Tests.Weights;

/// <summary>
/// Stored values converted to float32 as the casts convert them, a vector at a time (every float16 and bfloat16 value;
/// float64 rounded to nearest, one beyond float32's range refused at its index in the tensor), and half-width
/// checkpoints read a chunk at a time: a read makes no array of a tensor's stored size (MobileNetV2 from a float16
/// safetensors file read in 25 ms against 2.8 from float32, a gen-2 collection every other refit, before).
/// </summary>
public sealed class StoredValuesTests
{
    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Every_half_width_value_converts_as_the_cast_does(string dtype)
    {
        var bytes = new byte[2 << 16];
        for (int h = 0; h < 1 << 16; h++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * h), (ushort)h);
        var data = new float[1 << 16];

        StoredValues.ToFloat32(dtype, bytes, data, "test");

        for (int h = 0; h < 1 << 16; h++)
        {
            float cast = dtype == "F16" ? (float)BitConverter.UInt16BitsToHalf((ushort)h) : BitConverter.Int32BitsToSingle(h << 16);
            Assert.True(BitConverter.SingleToInt32Bits(cast) == BitConverter.SingleToInt32Bits(data[h]), $"{dtype} 0x{h:x4}: {data[h]} against the cast's {cast}");
        }
    }

    [Fact]
    public void Float64_rounds_as_the_cast_does_and_a_value_beyond_range_is_refused_at_its_index()
    {
        var random = new Random(7);
        // Magnitudes from float32's subnormals to its largest, and floats moved halfway to the next (ties, to even).
        double[] values = [.. Enumerable.Range(0, 10_001).Select(i => i % 3 == 0
            ? BitConverter.Int32BitsToSingle(random.Next(0x7f800000)) * (1 + Math.Pow(2, -24))
            : (random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-149, 128)))];
        var bytes = new byte[8 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), values[i]);
        var data = new float[values.Length];

        StoredValues.ToFloat32("F64", bytes, data, "test");
        Assert.Equal(values.Select(v => (float)v), data);

        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * 9_000), double.NegativeInfinity);
        StoredValues.ToFloat32("F64", bytes, data, "test");
        Assert.Equal(float.NegativeInfinity, data[9_000]);
        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * 9_001), 1e300);
        var refused = Assert.Throws<WeightFormatException>(() => StoredValues.ToFloat32("F64", bytes, data, "test", firstIndex: 1_000));
        Assert.StartsWith("test: value 1E+300 at index 10001 is beyond float32's range", refused.Message);
    }

    /// <summary>
    /// A refit large enough to read its file on two threads in pieces, each packing what it read while the other
    /// reads (half-width tensors are split into pieces too now): the engine equals one refitted from the values the
    /// file holds, widened, as a caller's arrays.
    /// </summary>
    [Theory]
    [InlineData(".safetensors", "F16")]
    [InlineData(".pt", "BF16")]
    public void A_large_engine_refitted_from_a_half_width_checkpoint_on_two_threads_takes_the_values_it_holds(string format, string dtype)
    {
        var model = SeededModel.Load(TestPaths.SeededModels, "mobilenet_v3_small");
        using var dir = new TempDirectory();
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = 2 };
        string v1 = model.Materialize(dir.File("v1"), version: 1);
        using var engine = EngineConverter.Convert(v1, settings);
        using var expected = EngineConverter.Convert(v1, settings);
        string checkpoint = dir.File("v2" + format);
        var weights = model.Weights(version: 2).ToList();
        if (format == ".pt") TorchCheckpointWriter.Write(checkpoint, weights, dtype: dtype);
        else SafetensorsWriter.Write(checkpoint, weights, dtype);
        Assert.True(engine.Native.DerivedWeightBytes >= WeightFile.PrepareFromBytes);

        using (var read = WeightFile.Read(checkpoint, engine)) engine.Refit(read.Values);
        expected.Refit(weights.ToDictionary(w => w.Name, w => new WeightValue(w.Shape, [.. w.Data.Select(v => Rounded(v, dtype))])));

        var plan = engine.Native.Plan;
        for (int i = 0; i < plan.Weights.Length; i++)
            Assert.True(engine.Native.CurrentWeights!.Buffers[i].AsSpan().SequenceEqual(expected.Native.CurrentWeights!.Buffers[i]), $"engine weight {plan.Weights[i].Name}");
    }

    private static float Rounded(float value, string dtype) =>
        dtype == "F16" ? (float)(Half)value : BitConverter.Int32BitsToSingle(TensorValue.ToBFloat16Bits(value) << 16);

    /// <summary>
    /// A float16 tensor of 1M values (2 MB stored, beyond a chunk) in a safetensors file and in a torch checkpoint, where
    /// a second name views part of its storage: read as the cast rounds them, and a second read allocates less than
    /// a tenth of the stored bytes (a whole-tensor array before).
    /// </summary>
    [Fact]
    public void Half_width_checkpoints_are_read_a_chunk_at_a_time()
    {
        using var dir = new TempDirectory();
        float[] values = ErrorMetrics.RandomValues(3, 1 << 20);
        float[] expected = [.. values.Select(v => (float)(Half)v)];
        string safetensors = dir.File("half.safetensors"), torch = dir.File("half.pt");
        SafetensorsWriter.Write(safetensors, [("w", [1024, 1024], values)], "F16");
        TorchCheckpointWriter.Write(torch, [("w", [1024, 1024], values), ("head", [512, 1024], values[..(512 * 1024)])], shareFirst: true, dtype: "F16");
        var arrays = new Dictionary<int, float[]> { [1 << 20] = new float[1 << 20], [1 << 19] = new float[1 << 19] };

        foreach (var load in new Func<IReadOnlyDictionary<string, WeightTensor>>[]
                 {
                     () => SafetensorsFile.Load(safetensors, n => arrays[n]).Tensors,
                     () => TorchCheckpoint.Load(torch, n => arrays[n]),
                 })
        {
            var tensors = load();
            Assert.Equal(expected, tensors["w"].Data);
            if (tensors.TryGetValue("head", out var head)) Assert.Equal(expected[..(512 * 1024)], head.Data);
            long before = GC.GetAllocatedBytesForCurrentThread();
            load();
            Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, (2 << 20) / 10);
        }
    }
}
