using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// The tensor-reshuffling and CNN helper operators (Concat, Slice, Split, Transpose, Squeeze/Unsqueeze, Pad, Resize,
/// Reduce, ConvTranspose, clip-like activations, folded shape subgraphs) against ONNX Runtime: relative L2 ≤ 1e-5.
/// </summary>
public sealed class TensorOperatorTests
{
    private static OperatorCase Case(int opset, params int[] shape)
    {
        var c = new OperatorCase().Input("x", shape).Output("y");
        c.Model.Opset = opset;
        return c;
    }

    private static void Ints(OperatorCase c, string name, params long[] values) => c.Model.AddInitializer(name, values, [values.Length]);

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(0)]
    public void Concat_tensors_and_a_weight(int axis)
    {
        var c = new OperatorCase().Input("a", 2, 3, 4).Input("b", 2, 3, 4).Weight("w", 2, 3, 4).Output("y");
        c.Model.AddNode("Concat", ["a", "w", "b"], ["y"], ("axis", (long)axis));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new long[] { 1, -3 }, new long[] { 100, -1 }, new long[] { 1, -1 }, new long[] { 1, 2 })]
    [InlineData(new long[] { -1, 4 }, new long[] { long.MinValue, 0 }, new long[] { 2, 3 }, new long[] { -1, -2 })]
    // torch exports x.flip(d) and x[::-1] with the end −(2⁶³ − 1).
    [InlineData(new long[] { -1 }, new long[] { -long.MaxValue }, new long[] { 1 }, new long[] { -1 })]
    [InlineData(new long[] { 0 }, new long[] { 2 }, new long[] { 0 }, new long[] { 1 })]
    [InlineData(new long[] { 5, 0 }, new long[] { 1, 8 }, new long[] { -2, 1 }, new long[] { -2, 3 })]
    public void Slice(long[] starts, long[] ends, long[] axes, long[] steps)
    {
        var c = Case(13, 3, 4, 5, 6);
        Ints(c, "starts", starts);
        Ints(c, "ends", ends);
        Ints(c, "axes", axes);
        Ints(c, "steps", steps);
        c.Model.AddNode("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Slice_opset9_attributes()
    {
        var c = Case(9, 4, 6);
        c.Model.AddNode("Slice", ["x"], ["y"], ("starts", new long[] { 1, -4 }), ("ends", new long[] { 3, 1000 }), ("axes", new long[] { 0, 1 }));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(11, "attribute")]
    [InlineData(13, "input")]
    [InlineData(13, "equal")]
    [InlineData(18, "num_outputs")]
    public void Split(int opset, string form)
    {
        var c = new OperatorCase().Input("x", 2, 7, 3).Output("y0").Output("y1").Output("y2");
        c.Model.Opset = opset;
        var attributes = new List<(string, object)> { ("axis", -2L) };
        string[] inputs = ["x"];
        int size = form == "equal" ? 6 : 7;
        if (form == "equal")
        {
            c = new OperatorCase().Input("x", 2, 6, 3).Output("y0").Output("y1").Output("y2");
            c.Model.Opset = opset;
        }
        if (form == "attribute") attributes.Add(("split", new long[] { 2, 4, 1 }));
        if (form == "input")
        {
            Ints(c, "split", 3, 0, 4);
            inputs = ["x", "split"];
        }
        if (form == "num_outputs") attributes.Add(("num_outputs", 3L));
        Assert.True(size > 0);
        c.Model.AddNode("Split", inputs, ["y0", "y1", "y2"], [.. attributes]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// torch's chunk and split as the dynamo-based exporter writes them unoptimized: SplitToSequence by a chunk size (the
    /// last part smaller), by sizes, or into parts of one (squeezed without keepdims), and SequenceAt of its parts,
    /// counted from the end too.
    /// </summary>
    [Theory]
    [InlineData(11, "chunk")]
    [InlineData(18, "chunk")]
    [InlineData(18, "sizes")]
    [InlineData(18, "ones squeezed")]
    public void SplitToSequence_and_SequenceAt(int opset, string form)
    {
        var c = new OperatorCase().Input("x", 2, 7, 3).Output("y");
        c.Model.Opset = opset;
        string[] inputs = ["x"];
        var attributes = new List<(string, object)> { ("axis", 1L) };
        if (form == "chunk")
        {
            c.Model.AddInitializer("size", TensorValue.Int64([3]));
            inputs = ["x", "size"];
        }
        else if (form == "sizes")
        {
            Ints(c, "sizes", 2, 4, 1);
            inputs = ["x", "sizes"];
        }
        else attributes.Add(("keepdims", 0L));
        c.Model.AddNode("SplitToSequence", inputs, ["parts"], [.. attributes]);
        c.Model.AddInitializer("last", TensorValue.Int64([-1]));
        c.Model.AddInitializer("first", TensorValue.Int64([0]));
        c.Model.AddNode("SequenceAt", ["parts", "last"], ["b"]);
        c.Model.AddNode("SequenceAt", ["parts", "first"], ["a"]);
        c.Model.AddNode("Concat", ["b", "a"], ["y"], ("axis", form == "ones squeezed" ? -1L : 1L));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// CastLike (opset 15; unoptimized dynamo exports): run-time integers to a float tensor's type, and a float constant
    /// to an integer's (truncated toward zero at import) and back.
    /// </summary>
    [Fact]
    public void CastLike_to_float_and_to_integer()
    {
        var c = new OperatorCase().Input("x", 3, 4).IntegerInput("ids", OnnxDataType.Int64, 10, [3, 4], [3, 4]).Output("y");
        c.Model.Opset = 15;
        c.Model.AddNode("CastLike", ["ids", "x"], ["counts"]);
        c.Model.AddInitializer("scale", TensorValue.Scalar(-2.7f));
        c.Model.AddInitializer("integer", TensorValue.Int64([0]));
        c.Model.AddNode("CastLike", ["scale", "integer"], ["truncated"]);
        c.Model.AddNode("CastLike", ["truncated", "x"], ["factor"]);
        c.Model.AddNode("Mul", ["counts", "factor"], ["scaled"]);
        c.Model.AddNode("Add", ["scaled", "x"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 }, new long[] { 0, 2, 3, 1 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new long[] { 0, 1, 3, 2 })]
    [InlineData(new[] { 2, 3, 4, 5 }, null)]
    [InlineData(new[] { 2, 3, 1, 4, 5, 2 }, new long[] { 5, 0, 3, 2, 4, 1 })]
    [InlineData(new[] { 33, 17 }, new long[] { 1, 0 })]
    // Planes that go through in vector tiles (8×8 and 16×16, with rows and columns left over), under outer dims walked
    // one by one, one of them between the two (ViT's keys: [1, 3, 197, 64] → [1, 3, 64, 197]).
    [InlineData(new[] { 1, 3, 197, 64 }, new long[] { 0, 1, 3, 2 })]
    [InlineData(new[] { 2, 3, 37, 21 }, new long[] { 0, 1, 3, 2 })]
    [InlineData(new[] { 9, 5, 12 }, new long[] { 2, 1, 0 })]
    [InlineData(new[] { 2, 64, 48 }, new long[] { 0, 2, 1 })]
    public void Transpose(int[] shape, long[]? perm)
    {
        var c = Case(17, shape);
        if (perm is null) c.Model.AddNode("Transpose", ["x"], ["y"]);
        else c.Model.AddNode("Transpose", ["x"], ["y"], ("perm", perm));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("Unsqueeze", 11, new long[] { 0, -1 })]
    [InlineData("Unsqueeze", 13, new long[] { 2, 0 })]
    [InlineData("Squeeze", 11, new long[] { 1, -1 })]
    [InlineData("Squeeze", 13, new long[] { -4 })]
    [InlineData("Squeeze", 13, null)]
    public void Squeeze_and_Unsqueeze(string op, int opset, long[]? axes)
    {
        var c = Case(opset, op == "Squeeze" ? [1, 1, 5, 1] : [3, 5]);
        string[] inputs = ["x"];
        var attributes = new List<(string, object)>();
        if (axes is not null && opset < 13) attributes.Add(("axes", axes));
        if (axes is not null && opset >= 13)
        {
            Ints(c, "axes", axes);
            inputs = ["x", "axes"];
        }
        c.Model.AddNode(op, inputs, ["s"], [.. attributes]);
        c.Model.AddNode("Relu", ["s"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("constant", new long[] { 0, 1, 2, 3, 0, 2, 1, 0 })]
    [InlineData("constant", new long[] { 0, 0, -1, 2, 1, 0, 2, -2 })]
    [InlineData("reflect", new long[] { 0, 0, 2, 3, 0, 0, 1, 3 })]
    [InlineData("edge", new long[] { 0, 1, 3, 2, 1, 0, 1, 4 })]
    [InlineData("reflect", new long[] { 0, 0, -1, 2, 0, 0, 2, -1 })]
    public void Pad(string mode, long[] pads)
    {
        var c = Case(13, 2, 3, 5, 6);
        Ints(c, "pads", pads);
        c.Model.AddInitializer("value", TensorValue.Scalar(0.75f));
        c.Model.AddNode("Pad", mode == "constant" ? ["x", "pads", "value"] : ["x", "pads"], ["y"], ("mode", mode));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("constant")]
    [InlineData("reflect")]
    public void Pad_opset2_attributes(string mode)
    {
        var c = Case(10, 3, 4, 5);
        c.Model.AddNode("Pad", ["x"], ["y"], ("mode", mode), ("pads", new long[] { 0, 2, 1, 1, 3, 2 }), ("value", -1.5f));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Pad_opset18_axes()
    {
        var c = Case(18, 2, 3, 4);
        Ints(c, "pads", 1, 2, 3, 0);
        Ints(c, "axes", -1, 0);
        c.Model.AddNode("Pad", ["x", "pads", "", "axes"], ["y"], ("mode", "edge"));
        c.AssertMatchesOnnxRuntime();
    }

    public static TheoryData<string, string, string, bool, float> ResizeCases()
    {
        var data = new TheoryData<string, string, string, bool, float>();
        foreach (string transform in new[] { "half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel" })
        {
            foreach (string nearest in new[] { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil" })
            {
                data.Add("nearest", nearest, transform, false, 2f);
                data.Add("nearest", nearest, transform, true, 0.5f);
            }
            data.Add("linear", "round_prefer_floor", transform, false, 1.75f);
            data.Add("linear", "round_prefer_floor", transform, true, 0.6f);
            data.Add("linear", "round_prefer_floor", transform, false, 3f);
            data.Add("cubic", "round_prefer_floor", transform, false, 2f);
            data.Add("cubic", "round_prefer_floor", transform, true, 0.6f);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ResizeCases))]
    public void Resize(string mode, string nearest, string transform, bool sizes, float factor)
    {
        var c = Case(13, 2, 3, 5, 7);
        c.Model.AddInitializer("roi", TensorValue.Float([], 0));
        if (sizes)
        {
            c.Model.AddInitializer("scales", TensorValue.Float([], 0));
            Ints(c, "sizes", 2, 3, (long)(5 * factor), (long)(7 * factor) + 1);
        }
        else c.Model.AddInitializer("scales", [1f, 1f, factor, factor * 0.75f + 0.25f], [4]);
        c.Model.AddNode("Resize", sizes ? ["x", "roi", "scales", "sizes"] : ["x", "roi", "scales"], ["y"],
            ("mode", mode), ("nearest_mode", nearest), ("coordinate_transformation_mode", transform));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>Bicubic with another coefficient (−0.5, as OpenCV's), and with the taps outside the input left out.</summary>
    [Theory]
    [InlineData(-0.5f, 0)]
    [InlineData(-0.75f, 1)]
    [InlineData(-0.5f, 1)]
    public void Resize_cubic_coefficient_and_exclude_outside(float coefficient, int excludeOutside)
    {
        var c = Case(13, 2, 3, 5, 7);
        c.Model.AddInitializer("roi", TensorValue.Float([], 0));
        c.Model.AddInitializer("scales", [1f, 1f, 2.5f, 1.5f], [4]);
        c.Model.AddNode("Resize", ["x", "roi", "scales"], ["y"], ("mode", "cubic"), ("cubic_coeff_a", coefficient), ("exclude_outside", (long)excludeOutside));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// Sizes whose ratio lands source coordinates on whole numbers (13 → 1 at half_pixel: 6), where the coordinate's
    /// float rounding decides the nearest mode's floor or ceil, as ONNX Runtime computes it in float.
    /// </summary>
    [Theory]
    [InlineData("half_pixel", "floor", 10, 1)]
    [InlineData("half_pixel", "floor", 1, 10)]
    [InlineData("half_pixel", "ceil", 1, 1)]
    [InlineData("half_pixel", "round_prefer_floor", 10, 1)]
    [InlineData("asymmetric", "floor", 10, 1)]
    [InlineData("pytorch_half_pixel", "floor", 10, 1)]
    [InlineData("half_pixel", "floor", 26, 39)]
    public void Resize_nearest_by_sizes_on_whole_source_coordinates(string transform, string nearest, int height, int width)
    {
        var c = Case(13, 1, 2, 13, 13);
        c.Model.AddInitializer("roi", TensorValue.Float([], 0));
        c.Model.AddInitializer("scales", TensorValue.Float([], 0));
        Ints(c, "sizes", 1, 2, height, width);
        c.Model.AddNode("Resize", ["x", "roi", "scales", "sizes"], ["y"], ("mode", "nearest"), ("nearest_mode", nearest), ("coordinate_transformation_mode", transform));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("Resize", 10, "nearest", 2f)]
    [InlineData("Resize", 10, "nearest", 0.5f)]
    [InlineData("Resize", 10, "linear", 2.5f)]
    [InlineData("Upsample", 9, "nearest", 3f)]
    [InlineData("Upsample", 9, "linear", 2f)]
    public void Resize_opset10_and_Upsample(string op, int opset, string mode, float factor)
    {
        var c = Case(opset, 1, 2, 4, 6);
        c.Model.AddInitializer("scales", [1f, 1f, factor, factor], [4]);
        c.Model.AddNode(op, ["x", "scales"], ["y"], ("mode", mode));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Resize_opset18_axes_sizes()
    {
        var c = Case(18, 1, 2, 4, 6);
        c.Model.AddInitializer("roi", TensorValue.Float([], 0));
        c.Model.AddInitializer("scales", TensorValue.Float([], 0));
        Ints(c, "sizes", 9, 5);
        c.Model.AddNode("Resize", ["x", "roi", "scales", "sizes"], ["y"], ("mode", "linear"), ("axes", new long[] { 3, 2 }));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Resize_opset18_axes_sizes_with_a_dynamic_batch()
    {
        var c = new OperatorCase().BatchedInput("x", 2, 2, 4, 6).Output("y");
        c.Model.Opset = 18;
        c.Model.AddInitializer("roi", TensorValue.Float([], 0));
        c.Model.AddInitializer("scales", TensorValue.Float([], 0));
        Ints(c, "sizes", 7, 9);
        c.Model.AddNode("Resize", ["x", "roi", "scales", "sizes"], ["y"], ("mode", "nearest"), ("axes", new long[] { 2, 3 }));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// Sizes made of the input's own N and C and a new H and W, as torch exports F.interpolate(size=…) for a dynamic
    /// batch (torchvision's segmentation heads): N is known only at run time and keeps its size.
    /// </summary>
    [Theory]
    [InlineData("linear")]
    [InlineData("nearest")]
    public void Resize_sizes_from_the_input_s_own_shape_with_a_dynamic_batch(string mode)
    {
        var c = new OperatorCase().BatchedInput("x", 3, 2, 5, 7).Output("y");
        c.Model.Opset = 13;
        c.Model.AddInitializer("roi", TensorValue.Float([], 0));
        c.Model.AddInitializer("scales", TensorValue.Float([], 0));
        Ints(c, "start", 0);
        Ints(c, "end", 2);
        Ints(c, "hw", 11, 9);
        c.Model.AddNode("Shape", ["x"], ["shape"]);
        c.Model.AddNode("Slice", ["shape", "start", "end"], ["nc"]);
        c.Model.AddNode("Concat", ["nc", "hw"], ["sizes"], ("axis", 0L));
        c.Model.AddNode("Resize", ["x", "roi", "scales", "sizes"], ["y"], ("mode", mode));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>A constant N in sizes for a dynamic batch would resize the batch whenever it differs (ONNX Runtime does): refused.</summary>
    [Fact]
    public void Resize_sizes_that_fix_a_dynamic_batch_are_refused()
    {
        var m = new OnnxModelBuilder { Opset = 13 };
        m.AddInput("x", OnnxDataType.Float, "n", 4, 5, 7);
        m.AddInitializer("roi", TensorValue.Float([], 0));
        m.AddInitializer("scales", TensorValue.Float([], 0));
        m.AddInitializer("sizes", new long[] { 1, 4, 10, 14 }, [4]);
        m.AddNode("Resize", ["x", "roi", "scales", "sizes"], ["y"], ("mode", "nearest"));
        m.AddOutput("y", OnnxDataType.Float);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("N and C must keep their size (sizes [1, 4, 10, 14] for an input of [?, 4, 5, 7]", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ReduceMean", 13, new long[] { 2, 3 }, 1)]
    [InlineData("ReduceMean", 13, new long[] { -3 }, 0)]
    [InlineData("ReduceMean", 18, new long[] { 1, 3 }, 1)]
    [InlineData("ReduceMean", 18, null, 0)]
    [InlineData("ReduceSum", 13, new long[] { 0, 2 }, 0)]
    [InlineData("ReduceSum", 11, new long[] { -1 }, 1)]
    [InlineData("ReduceMax", 13, new long[] { 1 }, 1)]
    [InlineData("ReduceMax", 18, new long[] { 2, 3 }, 0)]
    public void Reduce(string op, int opset, long[]? axes, int keepDims)
    {
        var c = Case(opset, 2, 3, 5, 11);
        bool axesInput = opset >= (op == "ReduceSum" ? 13 : 18);
        var attributes = new List<(string, object)> { ("keepdims", (long)keepDims) };
        string[] inputs = ["x"];
        if (axes is not null && axesInput)
        {
            Ints(c, "axes", axes);
            inputs = ["x", "axes"];
        }
        else if (axes is not null) attributes.Add(("axes", axes));
        c.Model.AddNode(op, inputs, ["y"], [.. attributes]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1, 1, 0, 0, 1, true)]
    [InlineData(2, 2, 1, 1, 1, true)]
    [InlineData(2, 3, 1, 1, 1, false)]
    [InlineData(3, 2, 0, 1, 2, true)]
    [InlineData(1, 2, 1, 0, 4, false)]
    public void ConvTranspose(int stride, int dilation, int pad, int outputPadding, int groups, bool bias)
    {
        const int inC = 4, outPerGroup = 3;
        var c = Case(17, 2, inC, 5, 6).Weight("w", inC, outPerGroup, 3, 2);
        string[] inputs = ["x", "w"];
        if (bias)
        {
            c.Weight("b", outPerGroup * groups);
            inputs = ["x", "w", "b"];
        }
        c.Model.AddNode("ConvTranspose", inputs, ["y"], ("strides", new long[] { stride, stride + 1 }), ("dilations", new long[] { dilation, 1 }),
            ("pads", new long[] { pad, 0, 0, pad }), ("output_padding", new long[] { outputPadding, outputPadding }), ("group", (long)groups));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("NOTSET")]
    [InlineData("SAME_UPPER")]
    [InlineData("SAME_LOWER")]
    public void ConvTranspose_output_shape(string autoPad)
    {
        var c = Case(17, 1, 2, 4, 4).Weight("w", 2, 3, 3, 3);
        c.Model.AddNode("ConvTranspose", ["x", "w"], ["y"], ("strides", new long[] { 2, 2 }), ("output_shape", new long[] { 8, 9 }), ("auto_pad", autoPad));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("SAME_UPPER")]
    [InlineData("SAME_LOWER")]
    public void ConvTranspose_auto_pad(string autoPad)
    {
        var c = Case(17, 1, 2, 4, 5).Weight("w", 2, 3, 4, 3);
        c.Model.AddNode("ConvTranspose", ["x", "w"], ["y"], ("strides", new long[] { 2, 3 }), ("auto_pad", autoPad));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(6, "Clip")]
    [InlineData(13, "Clip")]
    [InlineData(13, "ClipMinOnly")]
    [InlineData(14, "HardSwish")]
    [InlineData(14, "HardSigmoid")]
    [InlineData(14, "LeakyRelu")]
    public void Clip_like_activations(int opset, string op)
    {
        var c = Case(opset, 3, 4, 5);
        switch (op)
        {
            case "Clip" when opset < 11:
                c.Model.AddNode("Clip", ["x"], ["y"], ("min", -0.3f), ("max", 0.4f));
                break;
            case "Clip":
                c.Model.AddInitializer("lo", TensorValue.Scalar(-0.3f));
                c.Model.AddInitializer("hi", TensorValue.Scalar(0.4f));
                c.Model.AddNode("Clip", ["x", "lo", "hi"], ["y"]);
                break;
            case "ClipMinOnly":
                c.Model.AddInitializer("lo", TensorValue.Scalar(-0.1f));
                c.Model.AddNode("Clip", ["x", "lo"], ["y"]);
                break;
            case "HardSigmoid":
                c.Model.AddNode(op, ["x"], ["y"], ("alpha", 0.3f));
                break;
            default:
                c.Model.AddNode(op, ["x"], ["y"]);
                break;
        }
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(10, false)]
    [InlineData(16, false)]
    [InlineData(10, true)]
    public void A_cast_to_a_16_bit_float_is_refused(int to, bool weight)
    {
        // ONNX Runtime rounds to float16 (bfloat16): relative L2 1.6e-4 (1.5e-3) from the values passed through unrounded.
        var c = Case(13, 3, 4, 7).Weight("w", 7);
        c.Model.AddNode("Cast", [weight ? "w" : "x"], ["h"], ("to", (long)to));
        c.Model.AddNode("Cast", ["h"], ["f"], ("to", 1L));
        c.Model.AddNode("Mul", weight ? ["x", "f"] : ["f", "w"], ["y"]);
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains("Cast_0", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"to = {to}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cast_through_double_is_exact()
    {
        var c = Case(13, 3, 4, 7);
        c.Model.AddNode("Cast", ["x"], ["d"], ("to", 11L));
        c.Model.AddNode("Cast", ["d"], ["y"], ("to", 1L));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Every_layer_survives_the_plan_format()
    {
        var c = new OperatorCase { RoundTripPlan = true }.Input("x", 1, 4, 5, 6).Weight("w", 4, 2, 3, 3).Weight("k", 1, 2, 10, 12).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("ConvTranspose", ["x", "w"], ["t"], ("strides", new long[] { 2, 2 }), ("pads", new long[] { 0, 1, 1, 0 }));
        c.Model.AddNode("Concat", ["t", "k"], ["c"], ("axis", 1L));
        Ints(c, "pads", 0, 0, 1, 2, 0, 0, 2, 1);
        c.Model.AddNode("Pad", ["c", "pads"], ["p"], ("mode", "reflect"));
        c.Model.AddNode("Transpose", ["p"], ["tr"], ("perm", new long[] { 0, 1, 3, 2 }));
        Ints(c, "starts", 1, -2);
        Ints(c, "ends", -1, 0);
        Ints(c, "axes", 2, 3);
        Ints(c, "steps", 2, -1);
        c.Model.AddNode("Slice", ["tr", "starts", "ends", "axes", "steps"], ["s"]);
        c.Model.AddInitializer("roi", TensorValue.Float([], 0));
        c.Model.AddInitializer("scales", [1f, 1f, 1.5f, 0.5f], [4]);
        c.Model.AddNode("Resize", ["s", "roi", "scales"], ["r"], ("mode", "linear"));
        c.Model.AddNode("ReduceMean", ["r"], ["y"], ("axes", new long[] { 1 }));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Shape_subgraph_is_folded_into_a_reshape()
    {
        var c = Case(13, 2, 3, 4, 5);
        c.Model.AddNode("Shape", ["x"], ["shape"]);
        c.Model.AddInitializer("zero", TensorValue.Int64([0], []));
        c.Model.AddNode("Gather", ["shape", "zero"], ["batch"], ("axis", 0L));
        Ints(c, "axes", 0);
        c.Model.AddNode("Unsqueeze", ["batch", "axes"], ["batch1"]);
        Ints(c, "minus1", -1);
        c.Model.AddNode("Concat", ["batch1", "minus1"], ["target"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["x", "target"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Channel_shuffle_reshapes_through_the_dynamic_batch(int batch)
    {
        // ShuffleNet's shuffle: the batch reaches Reshape through Shape → Gather → Unsqueeze → Concat.
        var c = new OperatorCase().BatchedInput("x", batch, 6, 3, 2).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Shape", ["x"], ["shape"]);
        c.Model.AddInitializer("zero", TensorValue.Int64([0], []));
        c.Model.AddNode("Gather", ["shape", "zero"], ["batch"], ("axis", 0L));
        Ints(c, "axes", 0);
        c.Model.AddNode("Unsqueeze", ["batch", "axes"], ["batch1"]);
        Ints(c, "groups", 2, 3, 3, 2);
        c.Model.AddNode("Concat", ["batch1", "groups"], ["split"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["x", "split"], ["g"]);
        c.Model.AddNode("Transpose", ["g"], ["t"], ("perm", new long[] { 0, 2, 1, 3, 4 }));
        Ints(c, "merged", 6, 3, 2);
        c.Model.AddNode("Concat", ["batch1", "merged"], ["back"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["t", "back"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// sizes = Concat(Shape(x)[:2], Cast(rounding(Cast(Shape(x)[2:], float) · 1.5), int64)), as older torch exports of
    /// F.interpolate(scale_factor=1.5) compute them.
    /// </summary>
    private static void ResizeBySizesThroughFloats(OperatorCase c, string mode, string rounding)
    {
        c.Model.AddNode("Shape", ["x"], ["shape"]);
        Ints(c, "zero", 0);
        Ints(c, "two", 2);
        Ints(c, "four", 4);
        c.Model.AddNode("Slice", ["shape", "zero", "two"], ["nc"]);
        c.Model.AddNode("Slice", ["shape", "two", "four"], ["hw"]);
        c.Model.AddNode("Cast", ["hw"], ["hwf"], ("to", 1L));
        c.Model.AddNode("Constant", [], ["factor"], ("value", TensorValue.Scalar(1.5f)));
        c.Model.AddNode("Mul", ["hwf", "factor"], ["scaled"]);
        if (rounding.Length > 0) c.Model.AddNode(rounding, ["scaled"], ["rounded"]);
        c.Model.AddNode("Cast", [rounding.Length > 0 ? "rounded" : "scaled"], ["hwi"], ("to", 7L));
        c.Model.AddNode("Concat", ["nc", "hwi"], ["sizes"], ("axis", 0L));
        c.Model.AddInitializer("roi", TensorValue.Float([], 0));
        c.Model.AddInitializer("scales", TensorValue.Float([], 0));
        c.Model.AddNode("Resize", ["x", "roi", "scales", "sizes"], ["y"], ("mode", mode));
    }

    [Theory]
    [InlineData("nearest", "")]      // the Cast truncates 7 · 1.5 = 10.5 and 5 · 1.5 = 7.5 to 10 and 7
    [InlineData("linear", "")]
    [InlineData("nearest", "Floor")]
    [InlineData("linear", "Ceil")]   // 11 and 8
    [InlineData("nearest", "Round")] // halves to even: 10 and 8
    public void Resize_sizes_computed_through_floats_are_folded(string mode, string rounding)
    {
        var c = Case(13, 1, 2, 7, 5);
        ResizeBySizesThroughFloats(c, mode, rounding);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void A_cast_of_a_non_integer_product_to_int64_truncates_it()
    {
        var c = Case(13, 1, 2, 7, 5);
        ResizeBySizesThroughFloats(c, "nearest", "");
        var network = OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");
        Assert.Equal([1, 2, 10, 7], network.Tensors[network.Outputs[0]].Dims);
    }

    [Fact]
    public void Sizes_through_floats_from_a_dynamic_dim_are_refused_with_what_to_do()
    {
        var c = new OperatorCase().SymbolicInput("x", [1, 2, "h", 5], [1, 2, 7, 5]).Output("y");
        c.Model.Opset = 13;
        ResizeBySizesThroughFloats(c, "nearest", "Floor");
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains("Cast 'Cast_3'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("dynamic input dimension", refused.Message, StringComparison.Ordinal);
        Assert.Contains("static input shapes", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>Floor of a run-time tensor runs (OperatorTests.Unary); its cast to int64 would make an integer tensor at run time, which the engine has not.</summary>
    [Fact]
    public void A_cast_to_int64_of_a_run_time_tensor_is_refused()
    {
        var c = Case(13, 2, 3);
        c.Model.AddNode("Floor", ["x"], ["f"]);
        c.Model.AddNode("Cast", ["f"], ["i"], ("to", 7L));
        c.Model.AddNode("Relu", ["i"], ["y"]);
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains("Cast_1", refused.Message, StringComparison.Ordinal);
        Assert.Contains("computed at run time", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reshape_target_computed_through_floats_is_folded()
    {
        // [N, -1, Cast((Cast(W, float) / 2 + 0.75 - 0.5), int64)]: 6 / 2 + 0.25 = 3.25 → 3, so x [2, 3, 4, 6] → [2, 12, 3].
        var c = Case(13, 2, 3, 4, 6);
        c.Model.AddNode("Shape", ["x"], ["shape"]);
        c.Model.AddInitializer("first", TensorValue.Int64([0], []));
        c.Model.AddInitializer("last", TensorValue.Int64([3], []));
        c.Model.AddNode("Gather", ["shape", "first"], ["n"], ("axis", 0L));
        c.Model.AddNode("Gather", ["shape", "last"], ["w"], ("axis", 0L));
        c.Model.AddNode("Cast", ["w"], ["wf"], ("to", 1L));
        foreach (var (op, value, input, output) in new[] { ("Div", 2f, "wf", "half"), ("Add", 0.75f, "half", "more"), ("Sub", 0.5f, "more", "inner") })
        {
            c.Model.AddNode("Constant", [], [output + "_k"], ("value", TensorValue.Scalar(value)));
            c.Model.AddNode(op, [input, output + "_k"], [output]);
        }
        c.Model.AddNode("Cast", ["inner"], ["k"], ("to", 7L));
        Ints(c, "axes", 0);
        c.Model.AddNode("Unsqueeze", ["n", "axes"], ["n1"]);
        c.Model.AddNode("Unsqueeze", ["k", "axes"], ["k1"]);
        Ints(c, "minus1", -1);
        c.Model.AddNode("Concat", ["n1", "minus1", "k1"], ["target"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["x", "target"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Integer_arithmetic_Where_Equal_ConstantOfShape_and_Cast_are_folded()
    {
        var c = Case(17, 2, 3, 4);
        c.Model.AddNode("Shape", ["x"], ["shape"], ("start", 1L));
        Ints(c, "starts", 0);
        Ints(c, "ends", 1);
        c.Model.AddNode("Slice", ["shape", "starts", "ends"], ["c"]);
        Ints(c, "two", 2);
        c.Model.AddNode("Mul", ["c", "two"], ["c2"]);
        c.Model.AddNode("Div", ["c2", "two"], ["c3"]);
        c.Model.AddNode("Sub", ["c3", "two"], ["c4"]);
        c.Model.AddNode("Add", ["c4", "two"], ["c5"]); // 3 again
        Ints(c, "spec", 0, -1, 4);
        Ints(c, "minus1", -1);
        c.Model.AddNode("Equal", ["spec", "minus1"], ["isFree"]);
        c.Model.AddNode("Concat", ["minus1", "c5", "minus1"], ["alt"], ("axis", 0L));
        c.Model.AddNode("Where", ["isFree", "alt", "spec"], ["target"]); // [0, 3, 4]
        c.Model.AddNode("Reshape", ["x", "target"], ["r"]);
        Ints(c, "ones", 1, 1, 4);
        c.Model.AddNode("ConstantOfShape", ["ones"], ["k"], ("value", TensorValue.Float([0.5f], 1)));
        c.Model.AddNode("Cast", ["c5"], ["c5f"], ("to", 1L));
        c.Model.AddNode("Mul", ["r", "k"], ["rk"]);
        c.Model.AddNode("Add", ["rk", "c5f"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(0, 2, true)]    // a scalar index drops the axis (attention picking q, k or v)
    [InlineData(1, -1, true)]
    [InlineData(3, -5, true)]
    [InlineData(2, 2, false)]   // a vector index keeps it
    public void Gather_of_a_run_time_tensor_at_known_indices(int axis, int index, bool scalar)
    {
        var c = Case(13, 3, 4, 5, 6);
        c.Model.AddNode("Relu", ["x"], ["r"]);
        if (scalar) c.Model.AddInitializer("i", TensorValue.Int64([index], []));
        else Ints(c, "i", index, 0, index, -1);
        c.Model.AddNode("Gather", ["r", "i"], ["y"], ("axis", (long)axis));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Gather_of_a_run_time_tensor_refuses_an_index_outside_the_axis()
    {
        var c = Case(13, 3, 4);
        c.Model.AddInitializer("i", TensorValue.Int64([4], []));
        c.Model.AddNode("Gather", ["x", "i"], ["y"], ("axis", 1L));
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains("index 4 is outside axis 1 of [3, 4]", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Expand_of_a_weight_and_of_a_run_time_tensor_broadcasts_as_onnx_runtime_does(bool runTime)
    {
        // ViT's class token: a [1, 1, C] parameter expanded to the batch, then concatenated with the patches.
        var c = Case(13, 2, 3, 8).Weight("token", 1, 1, 8);
        Ints(c, "shape", runTime ? [1, 2, 1] : [2, 1, 1]);
        // At run time: the mean of x's rows, [2, 1, 8], expanded to [2, 2, 8].
        if (runTime) c.Model.AddNode("ReduceMean", ["x"], ["t"], ("axes", new long[] { 1 }));
        c.Model.AddNode("Expand", [runTime ? "t" : "token", "shape"], ["e"]);
        c.Model.AddNode("Concat", ["e", "x"], ["y"], ("axis", 1L));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("token", 1)]
    [InlineData("token", 3)]
    [InlineData("where", 3)]    // expand(n, -1, -1) as torch exports it: −1 replaced by 1 through Equal and Where
    [InlineData("run-time", 1)]
    [InlineData("run-time", 3)]
    public void Expand_to_a_dynamic_batch_read_through_Shape_takes_it_at_run_time(string form, int batch)
    {
        // ViT's class token expanded to Shape(x)[0] with a dynamic batch: the engine takes the dim from x at run time.
        var c = new OperatorCase().BatchedInput("x", batch, 3, 8).Output("y").Weight("token", 1, 1, 8);
        c.Model.Opset = 13;
        c.Model.AddNode("Shape", ["x"], ["s"]);
        c.Model.AddInitializer("zero", TensorValue.Int64([0], []));
        c.Model.AddNode("Gather", ["s", "zero"], ["n"]);
        Ints(c, "axes", 0);
        c.Model.AddNode("Unsqueeze", ["n", "axes"], ["n1"]);
        Ints(c, "rest", form == "run-time" ? [3, 8] : form == "where" ? [-1, -1] : [1, 1]);
        c.Model.AddNode("Concat", ["n1", "rest"], [form == "where" ? "wanted" : "shape"], ("axis", 0L));
        if (form == "where")
        {
            Ints(c, "minus", -1, -1, -1);
            Ints(c, "ones", 1, 1, 1);
            c.Model.AddNode("Equal", ["wanted", "minus"], ["unset"]);
            c.Model.AddNode("Where", ["unset", "ones", "wanted"], ["shape"]);
        }
        if (form == "run-time")
        {
            // A [1, 3, 8] tensor computed at run time, expanded to the batch and added to x.
            c.Model.AddNode("ReduceMean", ["x"], ["t"], ("axes", new long[] { 0 }));
            c.Model.AddNode("Expand", ["t", "shape"], ["e"]);
            c.Model.AddNode("Add", ["e", "x"], ["y"]);
        }
        else
        {
            c.Model.AddNode("Expand", ["token", "shape"], ["e"]);
            c.Model.AddNode("Concat", ["e", "x"], ["y"], ("axis", 1L));
        }
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Expand_to_the_batch_of_a_channels_last_convolution_output(int batch)
    {
        // The batch read from a convolution's output (held channels-last by the builder), a per-channel parameter
        // expanded to it and multiplied in: the slice that carries the dim runs on a channels-last tensor.
        var c = new OperatorCase().BatchedInput("x", batch, 4, 6, 6).Output("y").Weight("w", 8, 4, 3, 3).Weight("scale", 1, 8, 1, 1);
        c.Model.Opset = 13;
        c.Model.AddNode("Conv", ["x", "w"], ["conv"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Relu", ["conv"], ["r"]);
        c.Model.AddNode("Shape", ["r"], ["s"]);
        Ints(c, "first", 0);
        c.Model.AddNode("Gather", ["s", "first"], ["n"]);
        Ints(c, "rest", 8, 1, 1);
        c.Model.AddNode("Concat", ["n", "rest"], ["shape"], ("axis", 0L));
        c.Model.AddNode("Expand", ["scale", "shape"], ["e"]);
        c.Model.AddNode("Mul", ["r", "e"], ["m"]);
        c.Model.AddNode("Conv", ["m", "w2"], ["y"]);
        c.Weight("w2", 4, 8, 1, 1);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1, "view")]
    [InlineData(3, "view")]
    [InlineData(3, "heads")]
    [InlineData(3, "flatten")]
    public void Reshape_to_its_own_dynamic_batch_and_minus_one_as_x_view_x_size_0_exports_it(int batch, string form)
    {
        // x.view(x.size(0), -1) with a dynamic batch: the batch read through Shape beside a −1 (two unknowns),
        // attention's x.view(n, -1, heads, width) (the batch, a −1 and known dims), and x.flatten(2) (Shape(x)[0:2]).
        var c = new OperatorCase().BatchedInput("x", batch, 4, 3, 6).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Relu", ["x"], ["r"]);
        c.Model.AddNode("Shape", ["r"], ["s"]);
        Ints(c, "first", 0);
        Ints(c, "two", 2);
        if (form == "flatten") c.Model.AddNode("Slice", ["s", "first", "two"], ["n"]);
        else c.Model.AddNode("Gather", ["s", "first"], ["n"]);
        Ints(c, "rest", form == "view" ? [-1] : [-1, 2, 3]);
        c.Model.AddNode("Concat", ["n", "rest"], ["shape"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["r", "shape"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Reshape_to_the_batch_read_from_the_models_input_as_B_x_shape_0_at_the_top_of_forward(int batch)
    {
        // B = x.shape[0]; y = conv(x).permute(0, 2, 3, 1).reshape(B, -1, C): the batch of another tensor, the same dim.
        var c = new OperatorCase().BatchedInput("x", batch, 4, 3, 6).Weight("w", 5, 4, 1, 1).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Conv", ["x", "w"], ["conv"]);
        c.Model.AddNode("Transpose", ["conv"], ["t"], ("perm", new long[] { 0, 2, 3, 1 }));
        c.Model.AddNode("Shape", ["x"], ["s"]);
        Ints(c, "first", 0);
        c.Model.AddNode("Gather", ["s", "first"], ["n"]);
        Ints(c, "rest", -1, 5);
        c.Model.AddNode("Concat", ["n", "rest"], ["shape"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["t", "shape"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// q.view(B, S, 2, -1) with B and S read from h = x + mask, where x and the mask both declare their first dim
    /// 'batch' (an attention block that takes a mask), the mask's second 1 or S. Found by a differential fuzzer: the
    /// shape probes moved x's batch alone, which the Add cannot take, so they proved nothing and the Reshape was refused
    /// as depending on a dynamic dim. Dims of one name move together now.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 1)]
    [InlineData(3, 5)]
    public void Reshape_to_the_batch_of_two_inputs_that_name_it_alike(int batch, int maskRows)
    {
        var c = new OperatorCase().SymbolicInput("x", ["batch", 5, 6], [batch, 5, 6]).SymbolicInput("m", ["batch", maskRows, 6], [batch, maskRows, 6])
            .Weight("w", 6, 6).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Add", ["x", "m"], ["h"]);
        c.Model.AddNode("MatMul", ["h", "w"], ["q"]);
        c.Model.AddNode("Shape", ["h"], ["s"]);
        Ints(c, "first", 0);
        Ints(c, "second", 1);
        c.Model.AddNode("Gather", ["s", "first"], ["b"]);
        c.Model.AddNode("Gather", ["s", "second"], ["l"]);
        Ints(c, "rest", 2, -1);
        c.Model.AddNode("Concat", ["b", "l", "rest"], ["shape"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["q", "shape"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Reshape_to_a_batch_that_is_not_the_datas_own_dim_infers_it_from_the_element_count(int batch)
    {
        // The data holds two batches (a Concat along them): x.shape[0] beside a −1 is not its dim 0, so copying it would
        // be wrong; the −1 is 144 at every batch, so the batch is what the element count leaves.
        var c = new OperatorCase().BatchedInput("x", batch, 4, 3, 6).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Concat", ["x", "x"], ["twice"], ("axis", 0L));
        c.Model.AddNode("Shape", ["x"], ["s"]);
        Ints(c, "first", 0);
        c.Model.AddNode("Gather", ["s", "first"], ["n"]);
        Ints(c, "rest", -1);
        c.Model.AddNode("Concat", ["n", "rest"], ["shape"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["twice", "shape"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void A_later_reshape_sees_the_layers_added_since_the_shape_probes_an_earlier_one_ran(int batch)
    {
        // The importer keeps each shape probe's shapes between Reshapes and infers only the layers added since. The
        // first Reshape's batch is x's, read for another tensor (Relu(x)), so probes decide it is the data's own; the
        // second's data is a Concat made after that, two batches long, so its −1 is what the element count leaves (a
        // probe that missed the Concat would copy the batch, or fail).
        var c = new OperatorCase().BatchedInput("x", batch, 4, 3, 6).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Shape", ["x"], ["s"]);
        Ints(c, "first", 0);
        c.Model.AddNode("Gather", ["s", "first"], ["n"]);
        Ints(c, "rest", -1);
        c.Model.AddNode("Concat", ["n", "rest"], ["shape"], ("axis", 0L));
        c.Model.AddNode("Relu", ["x"], ["r"]);
        c.Model.AddNode("Reshape", ["r", "shape"], ["flat"]);
        c.Model.AddNode("Concat", ["flat", "flat"], ["twice"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["twice", "shape"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Reshape_to_another_inputs_batch_beside_a_minus_one_asks_for_a_fixed_shape()
    {
        // y's batch beside a −1 for x's data: the −1 is 6·N / M, which no import-time value stands for.
        var c = new OperatorCase().SymbolicInput("x", ["n", 6], [2, 6]).SymbolicInput("y", ["m", 3], [3, 3]).Output("z");
        c.Model.Opset = 13;
        c.Model.AddNode("Shape", ["y"], ["s"]);
        Ints(c, "first", 0);
        c.Model.AddNode("Gather", ["s", "first"], ["m"]);
        Ints(c, "rest", -1);
        c.Model.AddNode("Concat", ["m", "rest"], ["shape"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["x", "shape"], ["r"]);
        c.Model.AddNode("ReduceSum", ["y"], ["t"], ("keepdims", 0L));
        c.Model.AddNode("Add", ["r", "t"], ["z"]);
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains("depends on a dynamic input dimension", refused.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Reshape_to_the_batch_beside_a_minus_one_that_is_static(int batch)
    {
        // torch's attn_mask.view(bsz, heads, -1, len) of a mask [bsz · heads, 1, len]: bsz only the run time knows, and a
        // −1 that is 1 at every batch, so bsz becomes the −1.
        var c = new OperatorCase().BatchedInput("x", batch, 5).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Shape", ["x"], ["s"]);
        Ints(c, "first", 0);
        c.Model.AddNode("Gather", ["s", "first"], ["n"]);
        Ints(c, "heads", 2);
        c.Model.AddNode("Mul", ["n", "heads"], ["nh"]);
        Ints(c, "one_len", 1, 5);
        c.Model.AddNode("Concat", ["nh", "one_len"], ["flat"], ("axis", 0L));
        Ints(c, "expand", 1, 2, 1);
        Ints(c, "second", 1);
        c.Model.AddNode("Unsqueeze", ["x", "second"], ["x3"]);
        c.Model.AddNode("Expand", ["x3", "expand"], ["wide"]);
        c.Model.AddNode("Reshape", ["wide", "flat"], ["merged"]);
        Ints(c, "rest", 2, -1, 5);
        c.Model.AddNode("Concat", ["n", "rest"], ["split"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["merged", "split"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConstantOfShape_of_a_dynamic_batch_as_zeros_like_exports_it(int batch)
    {
        // torch.full_like(x, 2.5) + x with a dynamic batch: ConstantOfShape(Shape(x)), made at run time.
        var c = new OperatorCase().BatchedInput("x", batch, 4, 3).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Shape", ["x"], ["s"]);
        c.Model.AddNode("ConstantOfShape", ["s"], ["full"], ("value", TensorValue.Float([2.5f], 1)));
        c.Model.AddNode("Add", ["full", "x"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>torch.arange(x.shape[0]) over a dynamic batch: 0 … n − 1 made at run time, added to each row.</summary>
    /// <summary>
    /// MultiheadAttention's head split with batch and length both dynamic: [length, batch, 16] to [length, batch · 2, 8],
    /// transposed, then [batch · 2, length, 8] to [batch, 2, length, 8] (batch and length read through Shape): the
    /// length is the data's own dim at another position, copied from there; the batch is what the count leaves.
    /// </summary>
    [Theory]
    [InlineData(2, 5)]
    [InlineData(3, 1)]
    public void Reshape_to_two_dynamic_dims_one_the_datas_own_at_another_position(int batch, int length)
    {
        var c = new OperatorCase().SymbolicInput("x", ["batch", "length", 16], [batch, length, 16]).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Transpose", ["x"], ["t"], ("perm", new long[] { 1, 0, 2 }));
        c.Model.AddNode("Shape", ["t"], ["s"]);
        Ints(c, "first", 0);
        Ints(c, "second", 1);
        c.Model.AddNode("Gather", ["s", "first"], ["len"]);
        c.Model.AddNode("Gather", ["s", "second"], ["bsz"]);
        Ints(c, "two", 2);
        c.Model.AddNode("Mul", ["bsz", "two"], ["heads"]);
        Ints(c, "width", 8);
        c.Model.AddNode("Concat", ["len", "heads", "width"], ["split"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["t", "split"], ["r"]);
        c.Model.AddNode("Transpose", ["r"], ["h"], ("perm", new long[] { 1, 0, 2 }));
        c.Model.AddNode("Concat", ["bsz", "two", "len", "width"], ["view"], ("axis", 0L));
        c.Model.AddNode("Reshape", ["h", "view"], ["y"]);
        c.AssertMatchesOnnxRuntime();
        var network = OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");
        Assert.Contains(network.Layers.OfType<Native.Layers.ReshapeLayer>(), r => r.Sources.Contains(1));
    }

    /// <summary>
    /// MultiheadAttention's x.unsqueeze(0) of [batch, tokens, 3, width] with batch and tokens dynamic: both move one
    /// place, which a Reshape's 0 and −1 cannot say; the layer keeps the squeeze's origins instead.
    /// </summary>
    [Theory]
    [InlineData(2, 5)]
    [InlineData(1, 3)]
    public void Unsqueeze_moving_two_dynamic_dims(int batch, int tokens)
    {
        var c = new OperatorCase().SymbolicInput("x", ["batch", "tokens", 3, 4], [batch, tokens, 3, 4]).Output("y");
        c.Model.Opset = 13;
        Ints(c, "front", 0);
        c.Model.AddNode("Unsqueeze", ["x", "front"], ["u"]);
        c.Model.AddNode("Transpose", ["u"], ["t"], ("perm", new long[] { 3, 1, 2, 0, 4 }));
        Ints(c, "last", 3);
        c.Model.AddNode("Squeeze", ["t", "last"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Range_to_a_dynamic_batch_is_made_at_run_time(int batch)
    {
        var c = new OperatorCase().BatchedInput("x", batch, 3).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Shape", ["x"], ["s"]);
        c.Model.AddInitializer("first", TensorValue.Int64([0]));
        c.Model.AddNode("Gather", ["s", "first"], ["n"]);
        c.Model.AddInitializer("zero", TensorValue.Int64([0]));
        c.Model.AddInitializer("one", TensorValue.Int64([1]));
        c.Model.AddNode("Range", ["zero", "n", "one"], ["rows"]);
        c.Model.AddNode("Cast", ["rows"], ["f"], ("to", (long)OnnxDataType.Float));
        Ints(c, "column", 1);
        c.Model.AddNode("Unsqueeze", ["f", "column"], ["f2"]);
        c.Model.AddNode("Add", ["x", "f2"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(0, 7, 2)]
    [InlineData(5, -4, -3)]
    [InlineData(1, 8, 3)]
    public void Range_of_constants_folds_at_import(long start, long limit, long delta)
    {
        // torch.arange of static sizes: positions added to the data as floats.
        int count = (int)((limit - start + delta + (delta > 0 ? -1 : 1)) / delta);
        var c = new OperatorCase().Input("x", 2, count).Output("y");
        c.Model.Opset = 13;
        c.Model.AddInitializer("start", TensorValue.Int64([start]));
        c.Model.AddInitializer("limit", TensorValue.Int64([limit]));
        c.Model.AddInitializer("delta", TensorValue.Int64([delta]));
        c.Model.AddNode("Range", ["start", "limit", "delta"], ["r"]);
        c.Model.AddNode("Cast", ["r"], ["f"], ("to", (long)OnnxDataType.Float));
        c.Model.AddNode("Add", ["x", "f"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Expand_to_a_dim_computed_from_a_dynamic_batch_asks_for_a_fixed_shape()
    {
        // 2·N is not a dim of any tensor: the engine cannot take it at run time.
        var c = new OperatorCase().BatchedInput("x", 2, 3, 8).Output("y").Weight("token", 1, 1, 8);
        c.Model.Opset = 13;
        c.Model.AddNode("Shape", ["x"], ["s"]);
        Ints(c, "first", 0);
        c.Model.AddNode("Gather", ["s", "first"], ["n"]);
        Ints(c, "two", 2);
        c.Model.AddNode("Mul", ["n", "two"], ["n2"]);
        Ints(c, "rest", 1, 1);
        c.Model.AddNode("Concat", ["n2", "rest"], ["shape"], ("axis", 0L));
        c.Model.AddNode("Expand", ["token", "shape"], ["y"]);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains("-InputShape", error.Message);
    }

    [Theory]
    [InlineData(0, 7, -3)]
    [InlineData(1, 7, -3)]
    [InlineData(0, -7, 3)]
    [InlineData(1, -7, 3)]
    public void Integer_Mod_and_Sqrt_fold_as_shape_arithmetic(long fmod, long a, long b)
    {
        // Attention's exported scale: Sqrt(Cast(head size)), the head size from shape arithmetic (with a Mod, as torch's export has it).
        var c = Case(13, 2, 12);
        c.Model.AddInitializer("a", TensorValue.Int64([a], []));
        c.Model.AddInitializer("b", TensorValue.Int64([b], []));
        c.Model.AddNode("Mod", ["a", "b"], ["m"], ("fmod", fmod));
        Ints(c, "twelve", 12);
        c.Model.AddNode("Add", ["m", "twelve"], ["width"]);
        c.Model.AddNode("Cast", ["width"], ["wf"], ("to", (long)OnnxDataType.Float));
        c.Model.AddNode("Sqrt", ["wf"], ["root"]);
        c.Model.AddNode("Div", ["x", "root"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(OnnxDataType.Float8E4M3FN, 1.7f, "cannot represent")]
    [InlineData(OnnxDataType.Int4, 3f, "cannot represent")]
    [InlineData(OnnxDataType.Int8, 300f, "has no Int8 value")]
    [InlineData(OnnxDataType.UInt8, -2.6f, "has no UInt8 value")]
    public void A_cast_of_constants_to_a_type_or_range_the_engine_cannot_hold_is_refused(OnnxDataType to, float value, string said)
    {
        // Read as integers, 1.7 cast to float8 came out 1, not 1.75; out of the type's range the result is undefined.
        var c = Case(13, 2, 3);
        c.Model.AddInitializer("v", [value], [1]);
        c.Model.AddNode("Cast", ["v"], ["i"], ("to", (long)to));
        c.Model.AddNode("Cast", ["i"], ["f"], ("to", (long)OnnxDataType.Float));
        c.Model.AddNode("Mul", ["x", "f"], ["y"]);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains(said, error.Message);
    }

    [Fact]
    public void A_cast_of_constants_within_the_type_s_range_folds_as_onnx_runtime_computes_it()
    {
        var c = Case(13, 2, 3);
        c.Model.AddInitializer("v", [255.9f, -128.5f, 7.5f], [3]);
        c.Model.AddNode("Cast", ["v"], ["i"], ("to", (long)OnnxDataType.Int32));
        c.Model.AddNode("Cast", ["i"], ["f"], ("to", (long)OnnxDataType.Float));
        c.Model.AddNode("Mul", ["x", "f"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("split18", "from opset 18 a Split gives its sizes")]
    [InlineData("num_outputs", "num_outputs is 2, and it has 3 outputs")]
    [InlineData("bilinear", "mode 'bilinear' is not supported")]
    [InlineData("exclude_outside", "exclude_outside applies to cubic interpolation only")]
    [InlineData("keep_aspect_ratio_policy", "keep_aspect_ratio_policy other than stretch")]
    [InlineData("flatten10", "axis -1 is negative, which Flatten takes from opset 11 on")]
    public void Forms_onnx_runtime_refuses_are_refused(string form, string said)
    {
        // ONNX Runtime refuses each of these models; the engine ran them (equal parts, linear, the outside included).
        var c = new OperatorCase().Input("x", 1, 6, 4, 4).Output("y");
        c.Model.Opset = 18;
        switch (form)
        {
            case "split18" or "num_outputs":
                c.Output("y1").Output("y2");
                c.Model.AddNode("Split", ["x"], ["y", "y1", "y2"], form == "num_outputs" ? [("axis", 1L), ("num_outputs", 2L)] : [("axis", 1L)]);
                break;
            case "flatten10":
                c.Model.Opset = 10;
                c.Model.AddNode("Flatten", ["x"], ["y"], ("axis", -1L));
                break;
            default:
                c.Model.AddInitializer("scales", [1f, 1f, 2f, 2f], [4]);
                (string, object) extra = form switch
                {
                    "bilinear" => ("mode", "bilinear"),
                    "exclude_outside" => ("exclude_outside", 1L),
                    _ => ("keep_aspect_ratio_policy", "not_larger"),
                };
                c.Model.AddNode("Resize", ["x", "", "scales"], ["y"], form == "bilinear" ? [extra] : [("mode", "linear"), extra]);
                break;
        }
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains(said, error.Message);
    }
}
