using System.Diagnostics;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Onnx;

public class OnnxMalformedTests
{
    [Fact]
    public void EveryPrefixOfAValidModelParsesOrFailsWithAFormatError()
    {
        var bytes = RichModel();
        for (int length = 0; length < bytes.Length; length++)
            AssertParsesOrFormatError(bytes.AsMemory(0, length));
    }

    [Fact]
    public void RandomByteChangesParseOrFailWithAFormatError()
    {
        var original = RichModel();
        var random = new Random(1234);
        for (int trial = 0; trial < 400; trial++)
        {
            var bytes = (byte[])original.Clone();
            int changes = random.Next(1, 4);
            for (int i = 0; i < changes; i++)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);

            var watch = Stopwatch.StartNew();
            AssertParsesOrFormatError(bytes);
            Assert.True(watch.ElapsedMilliseconds < 2000, $"trial {trial} took {watch.ElapsedMilliseconds} ms");
        }
    }

    /// <summary>
    /// A file of another kind given as a model is named as such after the parser's account of its first bad byte (found
    /// by a QA helper: only the protobuf-level account was given): a safetensors checkpoint, with what takes it.
    /// </summary>
    [Theory]
    [InlineData("tiny_mlp.ckpt1.safetensors", "It looks like a safetensors checkpoint: refit an engine with it (Update-TrtEngineWeights -Path)")]
    [InlineData("tiny_mlp.input.json", "It is not an ONNX model (a ModelProto, as torch.onnx.export writes), or a damaged one")]
    [InlineData("../../tests/fixtures/checkpoints/tiny_mlp.pt", "It looks like a torch checkpoint (a zip archive, as torch.save writes): refit an engine with it")]
    public void AFileOfAnotherKindIsNamedAsSuch(string file, string expected)
    {
        string path = Path.GetFullPath(Path.Combine(TestPaths.ExampleModels, file));
        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));
        Assert.StartsWith($"{path}: model: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void EmptyInputHasNoGraph()
    {
        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(Array.Empty<byte>(), null));
        Assert.Equal("model: the model has no graph", error.Message);
    }

    [Theory]
    [InlineData(3, "groups")]
    [InlineData(4, "groups")]
    [InlineData(6, "invalid wire type 6")]
    [InlineData(7, "invalid wire type 7")]
    public void BadWireTypesAreRejected(int wireType, string expected)
    {
        var w = new ProtoWriter();
        w.WriteInt64(1, 8);
        w.WriteTag(30, wireType);
        w.WriteVarint(0);

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(w.ToArray(), null));

        Assert.Contains("field 30", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void AKnownFieldWithTheWrongWireTypeIsRejected()
    {
        var w = new ProtoWriter();
        w.WriteString(1, "not a number");

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(w.ToArray(), null));

        Assert.StartsWith("model: field 1 (ir_version) has wire type 2, expected 0", error.Message);
    }

    [Fact]
    public void ALengthPastTheEndNamesTheAttribute()
    {
        var w = new ProtoWriter();
        w.WriteMessage(7, graph => graph.WriteMessage(1, node =>
        {
            node.WriteString(4, "Transpose");
            node.WriteMessage(5, attribute =>
            {
                attribute.WriteString(1, "perm");
                attribute.WriteTag(8, ProtoWriter.LengthDelimited);
                attribute.WriteVarint(1048576);
            });
        }));

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(w.ToArray(), null));

        Assert.Matches(@"^graph\.node\[0\]\.attribute 'perm': length 1048576 at byte \d+ runs past the end of the message at byte \d+$", error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02 })]
    public void VarintsLongerThanTenBytesOrOver64BitsAreRejected(byte[] varint)
    {
        byte[] bytes = [0x08, .. varint];

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(bytes, null));

        Assert.Equal("model: varint at byte 1 is longer than 10 bytes or overflows 64 bits", error.Message);
    }

    [Fact]
    public void TheLargestTenByteVarintIsAccepted()
    {
        byte[] bytes = [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x3A, 0x00];

        Assert.Equal(-1, OnnxModel.Parse(bytes, null).IrVersion);
    }

    [Fact]
    public void NegativeDimsAreRejected()
    {
        var error = ParseError(Initializer("w", [2, -1], OnnxDataType.Float, raw: new byte[8]));
        Assert.Equal("graph.initializer 'w': dims [2, -1] hold a negative dimension", error.Message);
    }

    [Fact]
    public void DimsWhoseProductOverflowsAreRejected()
    {
        var error = ParseError(Initializer("w", [1L << 40, 1L << 40], OnnxDataType.Float, raw: []));
        Assert.Contains("more elements than a 64-bit count can express", error.Message);
    }

    [Fact]
    public void HugeDimsWithoutDataAreRejectedWithoutAllocating()
    {
        var error = ParseError(Initializer("w", [1L << 31, 1L << 31], OnnxDataType.Float, raw: null));
        Assert.Contains("holds no data but dims [2147483648, 2147483648] of FLOAT need 4611686018427387904 values", error.Message);
    }

    [Fact]
    public void RawDataOfTheWrongSizeIsRejected()
    {
        var error = ParseError(Initializer("fc.weight", [10, 20], OnnxDataType.Float, raw: new byte[400]));
        Assert.Equal("graph.initializer 'fc.weight': raw_data holds 400 bytes but dims [10, 20] of FLOAT need 800", error.Message);
    }

    [Fact]
    public void TypedDataOfTheWrongCountIsRejected()
    {
        var builder = new OnnxModelBuilder();
        builder.AddInitializer("w", TensorValue.Float([1f, 2f, 3f], 2), TensorEncoding.TypedPacked);

        var error = ParseError(builder.ToBytes());

        Assert.Equal("graph.initializer 'w': float_data holds 3 values but dims [2] of FLOAT need 2", error.Message);
    }

    [Fact]
    public void TypedDataInTheWrongFieldIsRejected()
    {
        var w = new ProtoWriter();
        w.WriteMessage(7, graph => graph.WriteMessage(5, tensor =>
        {
            tensor.WriteInt64(1, 1);
            tensor.WriteInt64(2, (long)OnnxDataType.Float);
            tensor.WriteString(8, "w");
            tensor.WriteInt64(7, 5);
        }));

        var error = ParseError(w.ToArray());

        Assert.Contains("typed field that FLOAT tensors do not use (they use float_data)", error.Message);
    }

    [Fact]
    public void PackedFloatsMustBeWholeValues()
    {
        var w = new ProtoWriter();
        w.WriteMessage(7, graph => graph.WriteMessage(5, tensor =>
        {
            tensor.WriteInt64(2, (long)OnnxDataType.Float);
            tensor.WriteBytes(4, [0, 0, 0x80]);
        }));

        Assert.Contains("packed float_data holds 3 bytes, not a multiple of 4", ParseError(w.ToArray()).Message);
    }

    [Theory]
    [InlineData("../outside.bin", "leaves the model's directory")]
    [InlineData("sub/../../outside.bin", "leaves the model's directory")]
    [InlineData("/etc/hostname", "is absolute")]
    [InlineData("missing.bin", "does not exist")]
    [InlineData("", "has no location")]
    public void ExternalLocationsOutsideTheModelDirectoryAreRejected(string location, string expected)
    {
        using var directory = new TempDirectory();
        var modelDirectory = Directory.CreateDirectory(directory.File("model")).FullName;
        File.WriteAllBytes(directory.File("outside.bin"), new byte[8]);
        var builder = new OnnxModelBuilder();
        builder.AddExternalReference("w", OnnxDataType.Float, [2], location, 0, 8);
        var path = Path.Combine(modelDirectory, "m.onnx");
        builder.Save(path);

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));

        Assert.Contains(expected, error.Message);
        Assert.Contains("initializer 'w'", error.Message);
        Assert.Equal(path, error.FilePath);
        Assert.StartsWith(path, error.Message);
    }

    [SkippableFact]
    public void ExternalDataThroughALinkIsRejected()
    {
        Skip.If(OperatingSystem.IsWindows(), "creating links needs privileges on Windows");
        using var directory = new TempDirectory();
        var modelDirectory = Directory.CreateDirectory(directory.File("model")).FullName;
        File.WriteAllBytes(directory.File("outside.bin"), new byte[8]);
        File.CreateSymbolicLink(Path.Combine(modelDirectory, "link.bin"), directory.File("outside.bin"));
        var builder = new OnnxModelBuilder();
        builder.AddExternalReference("w", OnnxDataType.Float, [2], "link.bin", 0, 8);
        builder.Save(Path.Combine(modelDirectory, "m.onnx"));

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Path.Combine(modelDirectory, "m.onnx")));

        Assert.Contains("goes through a link", error.Message);
    }

    [Theory]
    [InlineData(20, 8L, "offset 20 is past the end of 'w.bin' (16 bytes)")]
    [InlineData(12, 8L, "at offset 12 with length 8 runs past the end of 'w.bin' (16 bytes)")]
    [InlineData(12, null, "at offset 12 with length 8 runs past the end of 'w.bin' (16 bytes)")]
    [InlineData(0, 12L, "external data holds 12 bytes but dims [2] of FLOAT need 8")]
    public void ExternalRangesOutsideTheFileAreRejected(long offset, long? length, string expected)
    {
        using var directory = new TempDirectory();
        File.WriteAllBytes(directory.File("w.bin"), new byte[16]);
        var builder = new OnnxModelBuilder();
        builder.AddExternalReference("w", OnnxDataType.Float, [2], "w.bin", offset, length);
        builder.Save(directory.File("m.onnx"));

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(directory.File("m.onnx")));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void SubgraphsNestedTooDeeplyAreRejected()
    {
        var innermost = new GraphBuilder("level70");
        var graph = innermost;
        for (int level = 69; level >= 1; level--)
        {
            var outer = new GraphBuilder($"level{level}");
            outer.AddNode("If", ["c"], ["y"], ("then_branch", graph));
            graph = outer;
        }
        var builder = new OnnxModelBuilder();
        builder.AddNode("If", ["c"], ["y"], ("then_branch", graph));

        var error = ParseError(builder.ToBytes());

        Assert.Contains("subgraphs nest deeper than 64 levels", error.Message);
    }

    [Theory]
    [InlineData(OnnxDataType.Int4, 2)]
    [InlineData(OnnxDataType.Complex64, 32)]
    [InlineData(OnnxDataType.UInt64, 32)]
    public void TypesWithoutAConversionAreNotSupported(OnnxDataType type, int rawBytesForFourElements)
    {
        var bytes = Initializer("w", [4], type, raw: new byte[rawBytesForFourElements]);
        var tensor = Assert.Single(OnnxModel.Parse(bytes, null).Graph.Initializers);

        Assert.Throws<NotSupportedException>(() => tensor.ToSingleArray());
        Assert.Throws<NotSupportedException>(() => tensor.ToInt64Array());
    }

    [Fact]
    public void AMissingFileIsReportedAsMissing()
    {
        Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(Path.Combine(Path.GetTempPath(), "no-such-model.onnx")));
    }

    /// <summary>A model that uses most of the reader: typed and raw tensors, value infos, attributes, a subgraph.</summary>
    private static byte[] RichModel()
    {
        var body = new GraphBuilder("body");
        body.AddInitializer("b", [1f], [1]);
        body.AddNode("Identity", ["b"], ["out"]);
        var builder = new OnnxModelBuilder();
        builder.AddInput("x", OnnxDataType.Float, "batch", 4);
        builder.AddOutput("y", OnnxDataType.Float, "batch", 4);
        builder.AddInitializer("raw", [1f, 2f, 3f, 4f], [2, 2]);
        builder.AddInitializer("packed", TensorValue.Float([1f, 2f], 2), TensorEncoding.TypedPacked);
        builder.AddInitializer("unpacked", TensorValue.Int32([1, -2], 2), TensorEncoding.TypedUnpacked);
        builder.AddInitializer("f16", TensorValue.Float16([1f, 2f], 2), TensorEncoding.TypedPacked);
        builder.AddInitializer("f64", TensorValue.Double([1.0], 1), TensorEncoding.TypedPacked);
        builder.AddInitializer("i64", [3L, 4L], [2], TensorEncoding.TypedPacked);
        builder.AddNode("Transpose", ["x"], ["t"], ("perm", new[] { 1, 0 }), ("alpha", 0.5f), ("mode", "constant"));
        builder.AddNode("If", ["c"], ["y"], ("then_branch", body), ("value", TensorValue.Scalar(2f)));
        return builder.ToBytes();
    }

    private static void AssertParsesOrFormatError(ReadOnlyMemory<byte> bytes)
    {
        OnnxModel model;
        try
        {
            model = OnnxModel.Parse(bytes, null);
        }
        catch (OnnxFormatException)
        {
            return;
        }
        foreach (var tensor in model.Graph.Initializers)
        {
            try
            {
                tensor.ToSingleArray();
            }
            catch (NotSupportedException)
            {
                // A changed data_type may name a type that has no float conversion.
            }
        }
    }

    private static OnnxFormatException ParseError(byte[] bytes) =>
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(bytes, null));

    private static byte[] Initializer(string name, long[] dims, OnnxDataType type, byte[]? raw)
    {
        var w = new ProtoWriter();
        w.WriteMessage(7, graph => graph.WriteMessage(5, tensor =>
        {
            foreach (long dim in dims)
                tensor.WriteInt64(1, dim);
            tensor.WriteInt64(2, (long)type);
            tensor.WriteString(8, name);
            if (raw is not null)
                tensor.WriteBytes(9, raw);
        }));
        return w.ToArray();
    }
}
