using TrtEngine.Core.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>Convolutions, BatchNormalization and pools against ONNX Runtime, alone and fused: relative L2 ≤ 1e-5.</summary>
public sealed class ConvolutionTests
{
    [Theory]
    [InlineData(1, 3, 8, 3, 1, 1, 1, 1, "NOTSET")]
    [InlineData(2, 4, 6, 3, 2, 0, 1, 1, "NOTSET")]
    [InlineData(1, 6, 6, 3, 1, 2, 2, 2, "NOTSET")]
    [InlineData(1, 8, 8, 3, 1, 1, 1, 8, "NOTSET")]
    [InlineData(1, 8, 8, 3, 2, 1, 1, 8, "NOTSET")]
    [InlineData(1, 8, 16, 1, 1, 0, 1, 1, "NOTSET")]
    [InlineData(1, 5, 7, 5, 2, 0, 1, 1, "SAME_UPPER")]
    [InlineData(1, 5, 7, 4, 3, 0, 1, 1, "SAME_LOWER")]
    [InlineData(1, 5, 7, 3, 1, 0, 1, 1, "VALID")]
    public void Conv(int batch, int inC, int outC, int k, int stride, int pad, int dilation, int groups, string autoPad)
    {
        var c = new OperatorCase().Input("x", batch, inC, 13, 11).Weight("w", outC, inC / groups, k, k).Weight("b", outC).Output("y");
        var attributes = new List<(string, object)> { ("kernel_shape", new long[] { k, k }), ("strides", new long[] { stride, stride }), ("dilations", new long[] { dilation, dilation }), ("group", (long)groups) };
        if (autoPad == "NOTSET") attributes.Add(("pads", new long[] { pad, pad, pad + 1, pad }));
        else attributes.Add(("auto_pad", autoPad));
        c.Model.AddNode("Conv", ["x", "w", "b"], ["y"], [.. attributes]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>A stride beyond the window where SAME needs a pad of −1 (TensorFlow's 1×1 stride-2 convolutions on an even size): no window moves.</summary>
    [Theory]
    [InlineData("SAME_UPPER")]
    [InlineData("SAME_LOWER")]
    public void Same_padding_of_minus_one_is_no_padding(string autoPad)
    {
        var c = new OperatorCase().Input("x", 1, 2, 8, 10).Weight("w", 3, 2, 1, 1).Output("y");
        c.Model.AddNode("Conv", ["x", "w"], ["y"], ("strides", new long[] { 2, 2 }), ("auto_pad", autoPad));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// Where SAME would need a pad below −1 (a window of 1 every 5 over 10) the spec crops the input before the first
    /// window; ONNX Runtime does for some operators and opsets and refuses or clamps for others: refused, saying so.
    /// </summary>
    [Theory]
    [InlineData("Conv")]
    [InlineData("AveragePool")]
    public void Same_padding_that_would_crop_the_input_is_refused(string op)
    {
        var m = new Testing.Onnx.OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 1, 2, 5, 10);
        if (op == "Conv")
        {
            m.AddInitializer("w", Testing.Metrics.ErrorMetrics.RandomValues(1, 6), [3, 2, 1, 1]);
            m.AddNode("Conv", ["x", "w"], ["y"], ("strides", new long[] { 1, 5 }), ("auto_pad", "SAME_UPPER"));
        }
        else m.AddNode(op, ["x"], ["y"], ("kernel_shape", new long[] { 1, 1 }), ("strides", new long[] { 1, 5 }), ("auto_pad", "SAME_UPPER"));
        m.AddOutput("y", OnnxDataType.Float);
        using var dir = new TempDirectory();
        string path = dir.File("same.onnx");
        m.Save(path);
        var error = Assert.Throws<Native.Network.ShapeException>(() => Conversion.EngineConverter.Convert(path, new Conversion.ConversionSettings { UseCache = false }));
        Assert.Contains("needs a pad of -4", error.Message, StringComparison.Ordinal);
        Assert.Contains("give explicit pads", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conv_without_bias()
    {
        var c = new OperatorCase().Input("x", 1, 3, 9, 9).Weight("w", 4, 3, 3, 3).Output("y");
        c.Model.AddNode("Conv", ["x", "w"], ["y"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(3, 1)]
    [InlineData(3, 8)]
    public void Conv_BatchNorm_Relu_fold_is_exact(int level, int groups)
    {
        var c = new OperatorCase().Input("x", 2, 8, 10, 10).Weight("w", 8, 8 / groups, 3, 3)
            .Weight("gamma", 8).Weight("beta", 8).Weight("mean", 8).Output("y");
        c.Model.AddInitializer("var", Enumerable.Range(0, 8).Select(i => 0.3f + 0.1f * i).ToArray(), [8]);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", (long)groups));
        c.Model.AddNode("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], ["n"], ("epsilon", 1e-3f));
        c.Model.AddNode("Relu", ["n"], ["y"]);
        c.AssertMatchesOnnxRuntime(level);
    }

    [Fact]
    public void Residual_add_and_clip_fuse_into_the_convolution()
    {
        var c = new OperatorCase().Input("x", 1, 6, 8, 8).Weight("w1", 6, 6, 3, 3).Weight("b1", 6).Weight("w2", 6, 6, 1, 1).Output("y");
        c.Model.AddNode("Conv", ["x", "w1", "b1"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Conv", ["h", "w2"], ["g"]);
        c.Model.AddNode("Add", ["g", "x"], ["s"]);
        c.Model.AddNode("Clip", ["s"], ["y"], ("min", 0f), ("max", 6f));
        c.Model.Opset = 10;
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new[] { 2, 5, 4, 3 }, "")]
    [InlineData(new[] { 2, 5, 4, 3 }, "Relu")]           // fused: applied to each row after the scale and shift
    [InlineData(new[] { 3, 5, 64, 64 }, "LeakyRelu")]    // rows shared out over the threads
    [InlineData(new[] { 2, 5, 7 }, "Sigmoid")]           // rank 3: one row a plane
    [InlineData(new[] { 4, 5 }, "Relu")]                 // rank 2: one value a plane
    [InlineData(new[] { 2, 5, 3, 0 }, "Relu")]           // empty: no pixels in a row, no rows to cut
    [InlineData(new[] { 2, 5, 0, 3 }, "")]
    [InlineData(new[] { 2, 5, 0 }, "Sigmoid")]
    [InlineData(new[] { 0, 5, 4, 3 }, "Relu")]           // no images
    public void BatchNormalization_alone(int[] shape, string activation)
    {
        var c = new OperatorCase().Input("x", shape).Weight("gamma", 5).Weight("beta", 5).Weight("mean", 5).Output("y");
        c.Model.AddInitializer("var", [0.5f, 1f, 1.5f, 2f, 0.25f], [5]);
        c.Model.AddNode("BatchNormalization", ["x", "gamma", "beta", "mean", "var"], [activation.Length > 0 ? "n" : "y"]);
        if (activation.Length > 0) c.Model.AddNode(activation, ["n"], ["y"]);
        c.RoundTripPlan = true;
        c.AssertMatchesOnnxRuntime();
        var batchNorm = Assert.Single(c.Plan!.Layers.OfType<Native.Layers.BatchNormLayer>());
        Assert.Equal(activation.Length > 0, batchNorm.Activation.Kind != Native.Kernels.ActivationKind.Identity);
        Assert.Single(c.Plan!.Layers); // the activation is the BatchNormalization's
    }

    [Theory]
    [InlineData(15, "training_mode")]  // the attribute
    [InlineData(13, "statistics")]     // before opset 14: the running and saved statistics asked for as outputs
    [InlineData(7, "spatial")]         // per-element statistics
    public void BatchNormalization_that_is_not_per_channel_inference_is_refused(int opset, string form)
    {
        // ONNX Runtime normalises a training-mode BatchNormalization by the batch's mean and variance (relative L2 0.57
        // from the running statistics here); TrtEngine computed the inference form instead.
        var c = new OperatorCase().Input("x", 3, 5, 4, 4).Weight("gamma", 5).Weight("beta", 5).Weight("mean", 5).Output("y");
        c.Model.Opset = opset;
        c.Model.AddInitializer("var", [0.5f, 1f, 1.5f, 2f, 0.25f], [5]);
        string[] inputs = ["x", "gamma", "beta", "mean", "var"];
        switch (form)
        {
            case "training_mode": c.Model.AddNode("BatchNormalization", inputs, ["y", "running_mean", "running_var"], ("training_mode", 1L)); break;
            case "statistics": c.Model.AddNode("BatchNormalization", inputs, ["y", "running_mean", "running_var", "saved_mean", "saved_var"]); break;
            default: c.Model.AddNode("BatchNormalization", inputs, ["y"], ("spatial", 0L)); break;
        }
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m"));
        Assert.Contains("BatchNormalization_0", refused.Message, StringComparison.Ordinal);
        Assert.Contains(form == "statistics" ? "statistics outputs" : form, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BatchNormalization_in_inference_mode_by_its_attribute()
    {
        var c = new OperatorCase().Input("x", 2, 5, 4, 3).Weight("gamma", 5).Weight("beta", 5).Weight("mean", 5).Output("y");
        c.Model.Opset = 15;
        c.Model.AddInitializer("var", [0.5f, 1f, 1.5f, 2f, 0.25f], [5]);
        c.Model.AddNode("BatchNormalization", ["x", "gamma", "beta", "mean", "var"], ["y"], ("training_mode", 0L));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new[] { 1, 4, 6, 6 }, new[] { 3, 4, 6, 6 }, false)] // the convolution's output is the operand the Add broadcasts
    [InlineData(new[] { 2, 4, 1, 6 }, new[] { 2, 4, 5, 6 }, true)]
    [InlineData(new[] { 3, 4, 6, 6 }, new[] { 1, 4, 6, 6 }, false)] // two inputs, each its own dynamic batch: 3 and 1 meet
    [InlineData(new[] { 1, 4, 6, 6 }, new[] { 3, 4, 6, 6 }, true)]
    public void An_add_that_broadcasts_stays_apart_from_the_convolution(int[] x, int[] r, bool residualFirst)
    {
        // Folded into the convolution as its residual, these failed to build (static shapes) or to run (dynamic
        // batches): the residual did not match the convolution's output.
        var c = new OperatorCase().Weight("w", 4, 4, 3, 3).Output("y");
        bool dynamic = x[0] != r[0] && x[2] == r[2];
        c.SymbolicInput("x", dynamic ? ["n", .. x[1..].Cast<object?>()] : x.Cast<object?>().ToArray(), x);
        c.SymbolicInput("r", dynamic ? ["m", .. r[1..].Cast<object?>()] : r.Cast<object?>().ToArray(), r);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Add", residualFirst ? ["r", "h"] : ["h", "r"], ["a"]);
        c.Model.AddNode("Relu", ["a"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("first", 3)] // [?, 4, 6, 6] as the convolution's output, 1 image at run time: the run failed on its shapes
    [InlineData("first", 1)]
    [InlineData("x", 3)] // the input itself: one shape at any batch, still the convolution's residual
    public void A_residual_of_one_input_is_fused_only_where_it_has_the_output_s_shape_at_any_batch(string residual, int batch)
    {
        var c = new OperatorCase().Weight("w", 4, 4, 3, 3).Output("y");
        c.SymbolicInput("x", ["n", 4, 6, 6], [batch, 4, 6, 6]);
        c.Model.AddInitializer("zero", new long[] { 0 }, [1]);
        c.Model.AddInitializer("one", new long[] { 1 }, [1]);
        c.Model.AddNode("Slice", ["x", "zero", "one", "zero"], ["first"]);
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Add", ["h", residual], ["a"]);
        c.Model.AddNode("Relu", ["a"], ["y"]);
        c.AssertMatchesOnnxRuntime();
        Assert.Equal(residual == "x", c.Plan!.Layers.OfType<Native.Layers.ConvLayer>().Single().Residual.IsNone == false);
    }

    [Theory]
    [InlineData("MaxPool", 3, 2, 0, 0, 0)]
    [InlineData("MaxPool", 3, 2, 0, 1, 0)]
    [InlineData("MaxPool", 2, 2, 1, 0, 0)]
    [InlineData("AveragePool", 3, 1, 1, 0, 0)]
    [InlineData("AveragePool", 3, 2, 1, 0, 1)]
    [InlineData("AveragePool", 2, 2, 0, 1, 0)]
    [InlineData("AveragePool", 3, 2, 1, 1, 1)]
    public void Pool(string op, int k, int stride, int pad, int ceil, int countIncludePad)
    {
        var c = new OperatorCase().Input("x", 2, 3, 11, 12).Output("y");
        c.Model.AddNode(op, ["x"], ["y"], PoolAttributes(op, k, stride, pad, ceil, countIncludePad));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// In ceil mode a window may overhang the input's end from the first window on: ONNX (ceil((in + pads − window) / stride
    /// + 1)), ONNX Runtime and PyTorch give one output of the part inside (SqueezeNet's 3×3 stride-2 ceil-mode max pool over a
    /// 2×2 map: the max of the four). The engine refused such an input ("a window of 3 does not fit an input of 2").
    /// Computed NCHW, channels-last after a convolution, and fused into that convolution.
    /// </summary>
    [Theory]
    [InlineData("MaxPool", 3, 2, 0, 2, 2, 0, "none")]
    [InlineData("MaxPool", 3, 2, 0, 2, 2, 0, "conv")]
    [InlineData("MaxPool", 3, 2, 0, 2, 2, 0, "fused")]
    [InlineData("MaxPool", 2, 2, 0, 1, 1, 0, "conv")]
    [InlineData("MaxPool", 3, 3, 0, 2, 20, 0, "fused")]
    [InlineData("MaxPool", 5, 4, 1, 1, 3, 0, "none")]
    [InlineData("AveragePool", 3, 2, 0, 2, 2, 0, "none")]
    [InlineData("AveragePool", 3, 2, 0, 2, 2, 1, "conv")]
    [InlineData("AveragePool", 5, 4, 1, 1, 3, 1, "none")]
    [InlineData("AveragePool", 5, 4, 1, 1, 3, 0, "conv")]
    [InlineData("AveragePool", 3, 3, 0, 2, 20, 1, "fused")]
    public void Ceil_mode_pool_whose_first_window_overhangs_a_small_input(string op, int k, int stride, int pad, int h, int w, int countIncludePad, string before)
    {
        var c = new OperatorCase().Input("x", 2, 5, h, w);
        string pooled = "x";
        if (before != "none")
        {
            c.Weight("w", 7, 5, 3, 3).Weight("b", 7);
            c.Model.AddNode("Conv", ["x", "w", "b"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }));
            c.Model.AddNode("Relu", ["c"], ["r"]);
            pooled = "r";
        }
        c.Model.AddNode(op, [pooled], ["p"], PoolAttributes(op, k, stride, pad, 1, countIncludePad));
        c.LeaveRegion("p");
        if (before == "fused")
        {
            c.AssertMatchesOnnxRuntime(new Native.Builder.BuilderConfig { OptimizationLevel = 0, FuseConvPools = true });
            Assert.Single(c.Plan!.Layers.OfType<Native.Layers.FusedConvPoolLayer>());
        }
        else c.AssertMatchesOnnxRuntime();
        Assert.Equal(1, c.Plan!.Tensors[c.Plan.Outputs[0]].Dims[2]);
    }

    /// <summary>Where even ceil mode leaves no window (ONNX Runtime gives an empty output or refuses), the pool is refused.</summary>
    [Theory]
    [InlineData(3, 2, 1)] // ceil((1 − 3) / 2 + 1) = 0
    [InlineData(3, 1, 2)] // −1
    public void Ceil_mode_pool_that_leaves_no_window_is_refused(int k, int stride, int size)
    {
        var pool = new Native.Layers.PoolLayer("p", Native.Layers.ValueRef.Tensor(0), Native.Kernels.PoolKind.Max, [k, k], [stride, stride], [0, 0, 0, 0], [1, 1], true, false, Native.Layers.AutoPad.NotSet, false);
        var error = Assert.Throws<Native.Network.ShapeException>(() => pool.InferShape([[1, 2, size, size]]));
        Assert.Contains($"a window of {k} does not fit an input of {size}", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A square MaxPool or AveragePool window as ONNX attributes.</summary>
    internal static (string, object)[] PoolAttributes(string op, int k, int stride, int pad, int ceil, int countIncludePad)
    {
        var attributes = new List<(string, object)> { ("kernel_shape", new long[] { k, k }), ("strides", new long[] { stride, stride }), ("pads", new long[] { pad, pad, pad, pad }), ("ceil_mode", (long)ceil) };
        if (op == "AveragePool") attributes.Add(("count_include_pad", (long)countIncludePad));
        return [.. attributes];
    }

    [Theory]
    [InlineData("GlobalAveragePool")]
    [InlineData("GlobalMaxPool")]
    public void Global_pool(string op)
    {
        var c = new OperatorCase().Input("x", 2, 7, 5, 6).Output("y");
        c.Model.AddNode(op, ["x"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Silu_written_as_sigmoid_times_x_fuses_into_the_convolution(bool sigmoidFirst)
    {
        var c = new OperatorCase().Input("x", 2, 3, 8, 8).Weight("w", 6, 3, 3, 3).Weight("b", 6).Output("y");
        c.Model.AddNode("Conv", ["x", "w", "b"], ["conv"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("Sigmoid", ["conv"], ["sig"]);
        c.Model.AddNode("Mul", sigmoidFirst ? ["sig", "conv"] : ["conv", "sig"], ["y"]);
        c.AssertMatchesOnnxRuntime();
        var conv = Assert.IsType<Native.Layers.ConvLayer>(Assert.Single(c.Plan!.Layers, l => l is not Native.Layers.ReformatLayer));
        Assert.Equal(Native.Kernels.ActivationKind.Silu, conv.Activation.Kind);
    }
}
