using System.Diagnostics;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Native.Network;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Onnx;

/// <summary>
/// Models that parse but whose nodes are malformed (inputs missing, attributes out of range, values of unsupported types)
/// or ask the import for more than a model may (a pipe for external data, a huge tensor made from a small file): each is
/// refused with a typed error, never an untyped crash, a hang or a read past a buffer.
/// </summary>
public sealed class MalformedNodeTests
{
    private static void AssertRefused(OnnxModelBuilder m)
    {
        var e = Record.Exception(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.True(e is OnnxFormatException or ModelImportException or UnsupportedOperatorException or ShapeException,
            $"expected a typed import error, got {(e is null ? "no error" : e.GetType().Name + ": " + e.Message)}");
    }

    private static OnnxModelBuilder Model(params int[] input)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, [.. input.Cast<object?>()]);
        m.AddOutput("y", OnnxDataType.Float);
        return m;
    }

    /// <summary>A bias of fewer values than output channels was read past its end: the memory after it came out as outputs.</summary>
    [Fact]
    public void A_convolution_bias_of_another_length_than_its_output_channels_is_refused()
    {
        var m = Model(1, 1, 4, 4);
        m.AddInitializer("w", new float[16], [16, 1, 1, 1]);
        m.AddInitializer("b", [100f], [1]);
        m.AddNode("Conv", ["x", "w", "b"], ["y"]);
        var error = Assert.Throws<ShapeException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("bias [1] does not have the 16 values of the output channels", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Opening a pipe blocks until something writes to it: a model unpacked with one for its weights hung the load.</summary>
    [SkippableFact]
    public async Task External_data_in_a_pipe_is_refused_without_opening_it()
    {
        Skip.If(OperatingSystem.IsWindows(), "named pipes are made with mkfifo");
        using var dir = new TempDirectory();
        using (var mkfifo = Process.Start("mkfifo", dir.File("weights.bin"))) await mkfifo.WaitForExitAsync();
        var m = new OnnxModelBuilder();
        m.AddExternalReference("w", OnnxDataType.Float, [2], "weights.bin", 0, 8);
        m.Save(dir.File("m.onnx"));
        var load = Task.Run(() => OnnxModel.Load(dir.File("m.onnx")));
        var error = await Assert.ThrowsAsync<OnnxFormatException>(() => load.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("a pipe or a device lists none", error.Message, StringComparison.Ordinal);

        // An empty tensor there reads nothing, so nothing is opened: it loads, also after another tensor's read opened the
        // model's weights file.
        File.WriteAllBytes(dir.File("real.bin"), new byte[8]);
        var empty = new OnnxModelBuilder();
        empty.AddExternalReference("w", OnnxDataType.Float, [2], "real.bin", 0, 8);
        empty.AddExternalReference("none", OnnxDataType.Float, [0], "weights.bin", 0, 0);
        empty.Save(dir.File("empty.onnx"));
        var loaded = await Task.Run(() => OnnxModel.Load(dir.File("empty.onnx"))).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, loaded.Graph.Initializers.Single(t => t.Name == "none").ElementCount);
    }

    /// <summary>Tensors made at import from a few bytes of model: 128 MB from a 206-byte ConstantOfShape before, or an overflow.</summary>
    [Theory]
    [InlineData("int64 fill", 4000, 4000)]
    [InlineData("float fill", 100000, 100000)]
    [InlineData("integer broadcast", 2000, 2000)]
    public void Tensors_beyond_what_an_import_makes_are_refused(string kind, long rows, long columns)
    {
        var m = Model(2, 3);
        if (kind == "integer broadcast")
        {
            m.AddInitializer("a", new long[rows], [1, rows]);
            m.AddInitializer("b", new long[columns], [columns, 1]);
            m.AddNode("Add", ["a", "b"], ["c"]);
        }
        else
        {
            m.AddInitializer("s", new[] { rows, columns }, [2]);
            m.AddNode("ConstantOfShape", ["s"], ["c"], kind == "int64 fill" ? [("value", TensorValue.Int64([7], 1))] : []);
        }
        m.AddNode("Relu", ["x"], ["y"]);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("at import; TrtEngine makes tensors of up to", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> MalformedNodes => new()
    {
        "uint64 shape", "string shape", "int4 shape", "empty ConstantOfShape value", "integer division overflow", "Relu without inputs",
        "Add with one input", "Relu without outputs", "Conv strides 0", "Conv dilations 0", "MaxPool strides 0", "MaxPool kernel 0",
        "Conv strides beyond int", "Conv pads of 1", "ConvTranspose strides of 1", "Resize axes without their scales",
        "Split sizes that do not add up", "Split into unequal parts without sizes", "two nodes writing one value", "a node writing a graph input",
        "Conv group beyond int", "no default opset", "value_float of type INT",
    };

    [Theory]
    [MemberData(nameof(MalformedNodes))]
    public void Malformed_nodes_are_refused_with_a_typed_error(string which)
    {
        var m = which.StartsWith("Conv") || which.StartsWith("MaxPool") || which.StartsWith("Resize") ? Model(1, 1, 4, 4) : Model(2, 3);
        if (which.StartsWith("Resize")) m.Opset = 18;
        if (which.StartsWith("Split")) m.Opset = 13;
        float[] kernel = new float[9];
        switch (which)
        {
            case "uint64 shape":
                m.AddCustomInitializer(t => { t.WriteInt64(1, 2); t.WriteInt64(2, (long)OnnxDataType.UInt64); t.WriteString(8, "k"); t.WriteInt64(11, 3); t.WriteInt64(11, 2); });
                m.AddNode("Reshape", ["x", "k"], ["y"]);
                break;
            case "string shape":
                m.AddCustomInitializer(t => { t.WriteInt64(1, 1); t.WriteInt64(2, (long)OnnxDataType.String); t.WriteString(8, "k"); t.WriteString(6, "6"); });
                m.AddNode("Reshape", ["x", "k"], ["y"]);
                break;
            case "int4 shape":
                m.AddCustomInitializer(t => { t.WriteInt64(1, 3); t.WriteInt64(2, (long)OnnxDataType.Int4); t.WriteString(8, "k"); t.WriteBytes(9, [1, 2]); });
                m.AddNode("Reshape", ["x", "k"], ["y"]);
                break;
            case "empty ConstantOfShape value":
                m.AddInitializer("s", new long[] { 2, 3 }, [2]);
                m.AddNode("ConstantOfShape", ["s"], ["c"], ("value", TensorValue.Float([], 0)));
                m.AddNode("Add", ["x", "c"], ["y"]);
                break;
            case "integer division overflow":
                m.AddInitializer("a", new[] { long.MinValue }, [1]);
                m.AddInitializer("b", new long[] { -1 }, [1]);
                m.AddNode("Div", ["a", "b"], ["c"]);
                m.AddNode("Relu", ["x"], ["y"]);
                break;
            case "Relu without inputs": m.AddNode("Relu", [], ["y"]); break;
            case "Add with one input": m.AddNode("Add", ["x"], ["y"]); break;
            case "Relu without outputs":
                m.AddNode("Relu", ["x"], []);
                m.AddNode("Relu", ["x"], ["y"]);
                break;
            case "Conv group beyond int":
                m.AddInitializer("w", kernel, [1, 1, 3, 3]);
                m.AddNode("Conv", ["x", "w"], ["y"], ("group", (1L << 32) + 1)); // read as 1 before
                break;
            case "value_float of type INT": // read as 0 before
                m.AddNode("Constant", [], ["c"], ("value_float", 3L));
                m.AddNode("Add", ["x", "c"], ["y"]);
                break;
            case "no default opset":
                m.Opset = 0;
                m.AddNode("Relu", ["x"], ["y"]);
                break;
            case "Conv strides 0" or "Conv dilations 0" or "Conv strides beyond int" or "Conv pads of 1":
                m.AddInitializer("w", kernel, [1, 1, 3, 3]);
                m.AddNode("Conv", ["x", "w"], ["y"], which switch
                {
                    "Conv strides 0" => ("strides", new long[] { 0, 0 }),
                    "Conv dilations 0" => ("dilations", new long[] { 0, 0 }),
                    "Conv strides beyond int" => ("strides", new[] { 1L << 33, 1 }),
                    _ => ("pads", new long[] { 1 }),
                });
                break;
            case "MaxPool strides 0": m.AddNode("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 0, 0 })); break;
            case "MaxPool kernel 0": m.AddNode("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 0, 0 })); break;
            case "ConvTranspose strides of 1":
                m.AddInitializer("w", kernel, [1, 1, 3, 3]);
                m.AddNode("ConvTranspose", ["x", "w"], ["y"], ("strides", new long[] { 2 }), ("auto_pad", "SAME_UPPER"));
                break;
            case "Split sizes that do not add up":
                m.AddInitializer("sizes", new long[] { 1, 1 }, [2]);
                m.AddNode("Split", ["x", "sizes"], ["y", "rest"], ("axis", 1L));
                break;
            case "Split into unequal parts without sizes": m.AddNode("Split", ["x"], ["y", "rest"], ("axis", 1L)); break;
            case "two nodes writing one value":
                m.AddNode("Relu", ["x"], ["y"]);
                m.AddNode("Sigmoid", ["x"], ["y"]);
                break;
            case "a node writing a graph input":
                m.AddNode("Relu", ["x"], ["x"]);
                m.AddNode("Sigmoid", ["x"], ["y"]);
                break;
            case "Resize axes without their scales":
                m.AddInitializer("s", [2f], [1]);
                m.AddNode("Resize", ["x", "", "s"], ["y"], ("axes", new long[] { 2, 3 }));
                break;
        }
        AssertRefused(m);
    }

    /// <summary>An engine built from such a model would never run it right: the conversion refuses it before any build.</summary>
    [Fact]
    public void A_conversion_of_a_malformed_node_names_the_node()
    {
        var m = Model(2, 3);
        m.AddNode("Add", ["x"], ["y"]).Name = "the_add";
        using var dir = new TempDirectory();
        m.Save(dir.File("m.onnx"));
        var error = Assert.Throws<ModelImportException>(() => EngineConverter.Convert(dir.File("m.onnx"), new ConversionSettings { UseCache = false }));
        Assert.StartsWith("Add 'the_add' is malformed:", error.Message, StringComparison.Ordinal);
    }

    /// <summary>This session's operators given what does not fit them: each a typed import error.</summary>
    [Theory]
    [InlineData("einsum letters")]
    [InlineData("einsum rank")]
    [InlineData("einsum two arrows")]
    [InlineData("lstm hidden size")]
    [InlineData("lstm run-time weights")]
    [InlineData("topk zero")]
    [InlineData("topk past the axis")]
    [InlineData("onehot depth")]
    [InlineData("onehot depth of two values")]
    [InlineData("cumsum axes")]
    [InlineData("gather elements rank")]
    [InlineData("argmax axis")]
    [InlineData("range delta")]
    [InlineData("gathernd batch dims")]
    [InlineData("gathernd tuples longer than the rank")]
    public void New_operators_with_malformed_operands_are_refused(string form)
    {
        var m = Model(2, 3, 4);
        switch (form)
        {
            case "einsum letters": m.AddNode("Einsum", ["x"], ["y"], ("equation", "a1c->a")); break;
            case "einsum rank": m.AddNode("Einsum", ["x"], ["y"], ("equation", "ab->a")); break;
            case "einsum two arrows": m.AddNode("Einsum", ["x"], ["y"], ("equation", "abc->ab->a")); break;
            case "lstm hidden size":
                m.AddInitializer("W", new float[16 * 4], [1, 16, 4]);
                m.AddInitializer("R", new float[16 * 4], [1, 16, 4]);
                m.AddNode("LSTM", ["x", "W", "R"], ["y"], ("hidden_size", 5L));
                break;
            case "lstm run-time weights": m.AddNode("LSTM", ["x", "x", "x"], ["y"], ("hidden_size", 1L)); break;
            case "topk zero":
                m.AddInitializer("k", TensorValue.Int64([0], 1));
                m.AddNode("TopK", ["x", "k"], ["y", "i"]);
                break;
            case "topk past the axis":
                m.AddInitializer("k", TensorValue.Int64([9], 1));
                m.AddNode("TopK", ["x", "k"], ["y", "i"]);
                break;
            case "onehot depth" or "onehot depth of two values":
                m.AddInitializer("depth", form == "onehot depth" ? TensorValue.Int64([-3]) : TensorValue.Int64([3, 4], 2));
                m.AddInitializer("values", [0f, 1f], [2]);
                m.AddNode("OneHot", ["x", "depth", "values"], ["y"]);
                break;
            case "cumsum axes":
                m.AddInitializer("axes", TensorValue.Int64([0, 1], 2));
                m.AddNode("CumSum", ["x", "axes"], ["y"]);
                break;
            case "gather elements rank":
                m.AddInitializer("idx", TensorValue.Int64([0, 1], 2));
                m.AddNode("GatherElements", ["x", "idx"], ["y"]);
                break;
            case "argmax axis": m.AddNode("ArgMax", ["x"], ["y"], ("axis", 5L)); break;
            case "gathernd batch dims" or "gathernd tuples longer than the rank":
                m.AddInitializer("tuples", TensorValue.Int64(form == "gathernd batch dims" ? [0, 1] : [0, 1, 2, 3], form == "gathernd batch dims" ? 2 : 4));
                if (form == "gathernd batch dims") m.AddNode("GatherND", ["x", "tuples"], ["y"], ("batch_dims", 1L));
                else m.AddNode("GatherND", ["x", "tuples"], ["y"]);
                break;
            case "range delta":
                m.AddInitializer("zero", TensorValue.Int64([0]));
                m.AddNode("Range", ["zero", "zero", "zero"], ["r"]);
                m.AddNode("Cast", ["r"], ["y"], ("to", (long)OnnxDataType.Float));
                break;
        }
        m.Opset = 14;
        AssertRefused(m);
    }
}
