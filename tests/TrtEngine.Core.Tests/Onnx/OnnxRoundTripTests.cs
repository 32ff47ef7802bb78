using System.Text;
using TrtEngine.Core.Onnx;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Onnx;

public class OnnxRoundTripTests
{
    private static readonly float[] Floats = [1.5f, -2.25f, 0f, 3.75f, -0.5f, 1024f];

    [Fact]
    public void ModelHeaderAndGraphValuesRoundTrip()
    {
        var builder = new OnnxModelBuilder("g")
        {
            IrVersion = 9, Opset = 18, ProducerName = "p", ProducerVersion = "v2", Domain = "d", ModelVersion = 7,
        };
        builder.AddOpsetImport("com.microsoft", 1);
        builder.AddInput("x", OnnxDataType.Float, "batch", 3, null);
        builder.AddOutput("y", OnnxDataType.Int64, 5L);
        builder.AddValueInfo("mid", OnnxDataType.Float16);

        var model = OnnxModel.Parse(builder.ToBytes(), null);

        Assert.Equal(9, model.IrVersion);
        Assert.Equal("p", model.ProducerName);
        Assert.Equal("v2", model.ProducerVersion);
        Assert.Equal("d", model.Domain);
        Assert.Equal(7, model.ModelVersion);
        Assert.Equal([new OnnxOpsetImport("", 18), new OnnxOpsetImport("com.microsoft", 1)], model.OpsetImports);
        Assert.Equal(18, model.DefaultOpset);
        Assert.Equal("g", model.Graph.Name);

        var x = Assert.Single(model.Graph.Inputs);
        Assert.Equal("x", x.Name);
        Assert.Equal(OnnxDataType.Float, x.ElementType);
        Assert.Equal([new OnnxDim(null, "batch"), new OnnxDim(3, null), new OnnxDim(null, null)], x.Shape!);
        var y = Assert.Single(model.Graph.Outputs);
        Assert.Equal(OnnxDataType.Int64, y.ElementType);
        Assert.Equal([new OnnxDim(5, null)], y.Shape!);
        var mid = Assert.Single(model.Graph.ValueInfos);
        Assert.Equal(OnnxDataType.Float16, mid.ElementType);
        Assert.Empty(mid.Shape!);
    }

    [Theory]
    [InlineData(TensorEncoding.Raw)]
    [InlineData(TensorEncoding.TypedPacked)]
    [InlineData(TensorEncoding.TypedUnpacked)]
    [InlineData(TensorEncoding.External)]
    public void InitializersRoundTripInEveryEncoding(TensorEncoding encoding)
    {
        using var directory = new TempDirectory();
        var builder = new OnnxModelBuilder();
        builder.AddInitializer("f32", Floats, [2, 3], encoding);
        builder.AddInitializer("f16", TensorValue.Float16(Floats, 3, 2), encoding);
        builder.AddInitializer("bf16", TensorValue.BFloat16(Floats, 6), encoding);
        builder.AddInitializer("f64", TensorValue.Double([1e-3, -7.5, 2.0], 3), encoding);
        builder.AddInitializer("i64", [long.MinValue, -1, 0, long.MaxValue], [2, 2], encoding);
        builder.AddInitializer("i32", TensorValue.Int32([int.MinValue, -3, 0, int.MaxValue], 4), encoding);
        builder.AddInitializer("empty", Array.Empty<long>(), [0, 4], encoding);
        builder.AddInitializer("scalar", [42f], [], encoding);
        var path = directory.File("model.onnx");
        builder.Save(path);

        var initializers = OnnxModel.Load(path).Graph.Initializers.ToDictionary(t => t.Name);

        Assert.Equal(8, initializers.Count);
        AssertTensor(initializers["f32"], OnnxDataType.Float, [2, 3], Floats);
        AssertTensor(initializers["f16"], OnnxDataType.Float16, [3, 2], Floats);
        AssertTensor(initializers["bf16"], OnnxDataType.BFloat16, [6], Floats);
        AssertTensor(initializers["f64"], OnnxDataType.Double, [3], [1e-3f, -7.5f, 2f]);
        Assert.Equal([long.MinValue, -1, 0, long.MaxValue], initializers["i64"].ToInt64Array());
        Assert.Equal([int.MinValue, -3, 0, int.MaxValue], initializers["i32"].ToInt64Array());
        Assert.Equal([(float)int.MinValue, -3f, 0f, int.MaxValue], initializers["i32"].ToSingleArray());
        Assert.Equal(0, initializers["empty"].ElementCount);
        Assert.Empty(initializers["empty"].ToInt64Array());
        AssertTensor(initializers["scalar"], OnnxDataType.Float, [], [42f]);
        Assert.All(initializers.Values, t => Assert.Equal(encoding == TensorEncoding.External, t.IsExternal));
        Assert.All(initializers.Values, t => Assert.Equal(encoding is TensorEncoding.Raw or TensorEncoding.External, t.RawData.HasValue));
    }

    /// <summary>A double initializer value beyond float32's range is refused naming it, in raw and typed encodings alike.</summary>
    [Theory]
    [InlineData(TensorEncoding.Raw)]
    [InlineData(TensorEncoding.TypedPacked)]
    public void DoubleValuesBeyondFloat32AreRefusedNamingTheValue(TensorEncoding encoding)
    {
        var builder = new OnnxModelBuilder();
        builder.AddInitializer("f64", TensorValue.Double([2.0, -1e300], 2), encoding);
        var tensor = OnnxModel.Parse(builder.ToBytes(), null).Graph.Initializers.Single();

        var error = Assert.Throws<OnnxFormatException>(() => tensor.ToSingleArray());
        Assert.Equal("tensor 'f64': value -1E+300 at index 1 is beyond float32's range (±3.4E+38), in which TrtEngine computes; scale the weight into range or store it as float32.", error.Message);
    }

    [Fact]
    public void ExternalDataRequiresAFile()
    {
        var builder = new OnnxModelBuilder();
        builder.AddExternalReference("w", OnnxDataType.Float, [2], "w.bin", 0, 8);

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(builder.ToBytes(), null));

        Assert.Contains("initializer 'w'", error.Message);
        Assert.Contains("not loaded from a file", error.Message);
    }

    [Fact]
    public void ExternalDataWithoutLengthReadsTheTensorSize()
    {
        using var directory = new TempDirectory();
        File.WriteAllBytes(directory.File("w.bin"), [9, 9, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]);
        var builder = new OnnxModelBuilder();
        builder.AddExternalReference("w", OnnxDataType.Float, [2], "w.bin", 2, null);
        builder.Save(directory.File("m.onnx"));

        var tensor = Assert.Single(OnnxModel.Load(directory.File("m.onnx")).Graph.Initializers);

        Assert.Equal([1f, 2f], tensor.ToSingleArray());
    }

    [Fact]
    public void Tensors_sharing_an_external_file_read_their_own_ranges_and_the_files_are_closed_after_the_parse()
    {
        // Each file is opened once per parse and closed when the parse ends, also when it fails: an exclusive open succeeds after.
        using var directory = new TempDirectory();
        File.WriteAllBytes(directory.File("w.bin"), [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(2f), .. BitConverter.GetBytes(3f)]);
        File.WriteAllBytes(directory.File("v.bin"), BitConverter.GetBytes(4f));
        var builder = new OnnxModelBuilder();
        builder.AddExternalReference("a", OnnxDataType.Float, [2], "w.bin", 0, 8);
        builder.AddExternalReference("b", OnnxDataType.Float, [1], "w.bin", 8, 4);
        builder.AddExternalReference("c", OnnxDataType.Float, [1], "v.bin", 0, 4);
        builder.AddExternalReference("d", OnnxDataType.Float, [1], "w.bin", 4, 4);
        builder.Save(directory.File("m.onnx"));

        var tensors = OnnxModel.Load(directory.File("m.onnx")).Graph.Initializers.ToDictionary(t => t.Name, t => t.ToSingleArray());

        Assert.Equal([1f, 2f], tensors["a"]);
        Assert.Equal([3f], tensors["b"]);
        Assert.Equal([4f], tensors["c"]);
        Assert.Equal([2f], tensors["d"]);
        AssertClosed(directory.File("w.bin"));
        AssertClosed(directory.File("v.bin"));

        builder.AddExternalReference("past", OnnxDataType.Float, [1], "w.bin", 12, 4);
        builder.Save(directory.File("bad.onnx"));
        Assert.Contains("past the end of 'w.bin'", Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(directory.File("bad.onnx"))).Message);
        AssertClosed(directory.File("w.bin"));
        AssertClosed(directory.File("v.bin"));

        static void AssertClosed(string file)
        {
            using (new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
        }
    }

    [Fact]
    public void Float32_external_data_borrowed_with_an_allocator_is_read_into_its_arrays_and_checked_for_non_finite_values()
    {
        // Read straight into the allocator's arrays, which the first decode returns (no bytes to copy again); other
        // types decode as before. A value read so is marked finite in the weight pool only when it is.
        using var directory = new TempDirectory();
        var builder = new OnnxModelBuilder();
        builder.AddInitializer("f32", Floats, [2, 3], TensorEncoding.External);
        builder.AddInitializer("nan", [1f, float.NaN], [2], TensorEncoding.External);
        builder.AddInitializer("f16", TensorValue.Float16(Floats, 3, 2), TensorEncoding.External);
        builder.AddInitializer("inline", Floats, [6], TensorEncoding.Raw);
        var path = directory.File("model.onnx");
        builder.Save(path);
        var allocated = new List<float[]>();
        float[] Allocate(int n)
        {
            var array = WeightPool.Rent(n);
            allocated.Add(array);
            return array;
        }

        int parsed = -1;
        var decoded = OnnxModel.Borrow(path, model =>
        {
            parsed = allocated.Count;
            return model.Graph.Initializers.ToDictionary(t => t.Name, t => t.ToSingleArray(Allocate));
        }, allocate: Allocate);

        Assert.Equal(Floats, decoded["f32"]);
        Assert.Equal(Floats, decoded["f16"]);
        Assert.Equal(Floats, decoded["inline"]);
        Assert.Equal(1f, decoded["nan"][0]);
        Assert.True(float.IsNaN(decoded["nan"][1]));
        // The two float32 tensors' arrays were allocated as the model was parsed, before any decode: the decodes return them.
        Assert.Equal(2, parsed);
        Assert.Same(allocated[0], decoded["f32"]);
        Assert.Same(allocated[1], decoded["nan"]);
        Assert.True(WeightPool.Made(decoded["f32"], out bool finite) && finite);
        Assert.True(WeightPool.Made(decoded["nan"], out finite) && !finite);
        Assert.Equal(4, allocated.Count);
    }

    [Fact]
    public void NodesKeepInputsOutputsAndAttributesOfEveryType()
    {
        var body = new GraphBuilder("body");
        body.AddNode("Identity", ["a"], ["b"]);
        var other = new GraphBuilder("other");
        var builder = new OnnxModelBuilder();
        builder.AddNode("Custom", ["x", "", "z"], ["y", "w"],
            ("i", 5), ("l", -9000000000L), ("f", 0.25f), ("s", "text"), ("bytes", new byte[] { 0, 255 }),
            ("ints", new[] { 1, -2, 3 }), ("longs", new long[] { long.MaxValue }), ("floats", new[] { 1f, -1f }),
            ("strings", new[] { "a", "bc" }), ("t", TensorValue.Int64([4, 5], 2)),
            ("tensors", new[] { TensorValue.Scalar(1f), TensorValue.Double([2.0], 1) }),
            ("g", body), ("graphs", new[] { body, other })).Domain = "custom.domain";
        builder.AddNode("Constant", [], ["c"], ("value", TensorValue.Scalar(0.5f))).Name = "/3/Constant";

        var graph = OnnxModel.Parse(builder.ToBytes(), null).Graph;

        Assert.Equal(2, graph.Nodes.Count);
        var node = graph.Nodes[0];
        Assert.Equal("Custom_0", node.Name);
        Assert.Equal("Custom", node.OpType);
        Assert.Equal("custom.domain", node.Domain);
        Assert.Equal(["x", "", "z"], node.Inputs);
        Assert.Equal(["y", "w"], node.Outputs);
        Assert.Equal(13, node.Attributes.Count);
        Assert.Equal(5, node.GetInt("i", 0));
        Assert.Equal(-9000000000L, node.GetInt("l", 0));
        Assert.Equal(0.25f, node.GetFloat("f", 0));
        Assert.Equal("text", node.GetString("s", ""));
        Assert.Equal([0, 255], node.FindAttribute("bytes")!.S);
        Assert.Equal([1L, -2, 3], node.GetInts("ints")!);
        Assert.Equal([long.MaxValue], node.GetInts("longs")!);
        Assert.Equal([1f, -1f], node.GetFloats("floats")!);
        var strings = node.FindAttribute("strings")!;
        Assert.Equal(OnnxAttributeType.Strings, strings.Type);
        Assert.Equal(["a", "bc"], strings.Strings.Select(Encoding.UTF8.GetString));
        Assert.Equal([4L, 5], node.GetTensor("t")!.ToInt64Array());
        var tensors = node.FindAttribute("tensors")!;
        Assert.Equal(OnnxAttributeType.Tensors, tensors.Type);
        Assert.Equal([1f], tensors.Tensors[0].ToSingleArray());
        Assert.Equal(OnnxDataType.Double, tensors.Tensors[1].DataType);
        var g = node.FindAttribute("g")!;
        Assert.Equal(OnnxAttributeType.Graph, g.Type);
        Assert.Equal("body", g.G!.Name);
        Assert.Equal("Identity", Assert.Single(g.G.Nodes).OpType);
        var graphs = node.FindAttribute("graphs")!;
        Assert.Equal(OnnxAttributeType.Graphs, graphs.Type);
        Assert.Equal(["body", "other"], graphs.Graphs.Select(x => x.Name));

        Assert.Equal(7, node.GetInt("missing", 7));
        Assert.Null(node.GetInts("missing"));
        Assert.Throws<OnnxFormatException>(() => node.GetInt("f", 0));

        var constant = graph.Nodes[1];
        Assert.Equal("/3/Constant", constant.Name);
        var value = constant.GetTensor("value")!;
        Assert.Empty(value.Dims);
        Assert.Equal(1, value.ElementCount);
        Assert.Equal([0.5f], value.ToSingleArray());
    }

    [Fact]
    public void UnknownFieldsOfEveryWireTypeAreSkipped()
    {
        var builder = new OnnxModelBuilder();
        builder.AddInitializer("w", [1f, 2f], [2]);
        var w = new ProtoWriter();
        w.WriteRaw(builder.ToBytes());
        w.WriteInt64(100, 12345);
        w.WriteFloat(101, 1f);
        w.WriteDouble(102, 2.0);
        w.WriteString(103, "ignored");

        var model = OnnxModel.Parse(w.ToArray(), null);

        Assert.Equal([1f, 2f], Assert.Single(model.Graph.Initializers).ToSingleArray());
    }

    [Fact]
    public void DefaultOpsetAcceptsTheAiOnnxDomainName()
    {
        var w = new ProtoWriter();
        w.WriteMessage(7, _ => { });
        w.WriteMessage(8, o =>
        {
            o.WriteString(1, "ai.onnx");
            o.WriteInt64(2, 13);
        });

        Assert.Equal(13, OnnxModel.Parse(w.ToArray(), null).DefaultOpset);
    }

    [Fact]
    public void TheTinyMlpExampleHasTheDocumentedStructure()
    {
        var model = OnnxModel.Load(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx"));

        Assert.Equal(17, model.DefaultOpset);
        Assert.Equal(["Gemm", "Relu", "Gemm", "Constant", "Div", "Erf", "Constant", "Add", "Mul", "Constant", "Mul", "Gemm"],
            model.Graph.Nodes.Select(n => n.OpType));
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"], model.Graph.Initializers.Select(t => t.Name));
        Assert.Equal([128L, 64], model.Graph.Initializers[0].Dims);
        Assert.Equal(1, model.Graph.Nodes[0].GetInt("transB", 0));
        Assert.Equal(MathF.Sqrt(2f), model.Graph.Nodes[3].GetTensor("value")!.ToSingleArray()[0]);
        Assert.Equal("/3/Constant_output_0", model.Graph.Nodes[3].Outputs[0]);
        Assert.Equal([new OnnxDim(null, "batch"), new OnnxDim(10, null)], model.Graph.Outputs[0].Shape!);
    }

    private static void AssertTensor(OnnxTensor tensor, OnnxDataType type, long[] dims, float[] values)
    {
        Assert.Equal(type, tensor.DataType);
        Assert.Equal(dims, tensor.Dims);
        Assert.Equal(values.Length, tensor.ElementCount);
        Assert.Equal(values, tensor.ToSingleArray());
    }

    [Fact]
    public void A_model_read_as_it_is_parsed_hands_each_initializer_on_before_the_bytes_after_it_are_read()
    {
        var builder = new OnnxModelBuilder();
        builder.AddInput("x", OnnxDataType.Float, 1, 256);
        string previous = "x";
        for (int i = 0; i < 4; i++)
        {
            builder.AddInitializer($"w{i}", Enumerable.Range(0, 256 * 256).Select(v => (float)(v % 7 + i)).ToArray(), [256, 256]);
            builder.AddNode("MatMul", [previous, $"w{i}"], [$"y{i}"]);
            previous = $"y{i}";
        }
        builder.AddOutput(previous, OnnxDataType.Float);
        byte[] bytes = builder.ToBytes();
        int ensured = 0;
        var seen = new List<(string Name, int Ensured)>();
        var model = new OnnxParser(bytes, null, initializerParsed: t => seen.Add((t.Name, ensured)), ensureRead: end => ensured = Math.Max(ensured, end)).ParseModel();

        // Each 256 KB initializer is parsed once its own bytes are asked for, before any of the next one's.
        Assert.Equal(["w0", "w1", "w2", "w3"], seen.Select(s => s.Name));
        for (int i = 0; i < 3; i++) Assert.True(seen[i].Ensured < bytes.Length - (3 - i) * 256 * 256 * 4, $"w{i} waited for {seen[i].Ensured} of {bytes.Length} bytes");
        Assert.True(ensured >= bytes.Length);   // and at last all of it
        var whole = OnnxModel.Parse(bytes, null);
        Assert.Equal(whole.Graph.Initializers.Select(t => t.ToSingleArray()), model.Graph.Initializers.Select(t => t.ToSingleArray()));
    }

    [Fact]
    public void A_borrowed_model_gives_its_buffer_back_and_what_was_imported_keeps_its_values()
    {
        string model = Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");
        var borrowed = OnnxModel.Borrow(model, m => OnnxImporter.Import(m, "tiny_mlp"));
        var loaded = OnnxImporter.Import(OnnxModel.Load(model), "tiny_mlp");

        // The next borrow of a file of that size reuses the pooled buffer and overwrites it, even when it fails to parse.
        using var directory = new TempDirectory();
        string junk = directory.File("junk.onnx");
        File.WriteAllBytes(junk, Enumerable.Repeat((byte)0xFF, (int)new FileInfo(model).Length).ToArray());
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Borrow(junk, m => m));

        Assert.Equal(loaded.Weights.Select(w => w.Values), borrowed.Weights.Select(w => w.Values));
        Assert.Equal(loaded.Weights.Select(w => w.Name), borrowed.Weights.Select(w => w.Name));
    }
}
