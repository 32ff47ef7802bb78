using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Network;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// Operators the engine runs as several layers (ReduceL2, ReduceSumSquare, PRelu, InstanceNormalization) against ONNX
/// Runtime, and their weights refitted by their own names.
/// </summary>
public sealed class LoweredOperatorTests
{
    [Theory]
    [InlineData("ReduceL2", 13, new long[] { 1 }, 1)]
    [InlineData("ReduceL2", 13, new long[] { -1, 2 }, 0)]
    [InlineData("ReduceL2", 18, new long[] { 1 }, 1)]
    [InlineData("ReduceSumSquare", 13, new long[] { 2, 3 }, 1)]
    [InlineData("ReduceSumSquare", 18, new long[0], 0)]
    [InlineData("ReduceLogSumExp", 13, new long[] { 1 }, 0)]
    [InlineData("ReduceLogSumExp", 13, new long[] { -1, 2 }, 1)]
    [InlineData("ReduceLogSumExp", 18, new long[0], 0)]
    public void Reductions_of_squares_and_exponentials(string op, int opset, long[] axes, int keepdims)
    {
        var c = new OperatorCase().Input("x", 2, 3, 4, 5).Output("y");
        c.Model.Opset = opset;
        if (opset >= 18)
        {
            if (axes.Length > 0) c.Model.AddInitializer("axes", axes, [axes.Length]);
            c.Model.AddNode(op, axes.Length > 0 ? ["x", "axes"] : ["x"], ["y"], ("keepdims", (long)keepdims));
        }
        else c.Model.AddNode(op, ["x"], ["y"], ("axes", axes), ("keepdims", (long)keepdims));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>ReduceLogSumExp where Σ eˣ overflows float32 (values of 100 and more): finite, as ONNX Runtime gives it.</summary>
    [Fact]
    public void ReduceLogSumExp_of_large_values_is_finite()
    {
        var m = new OnnxModelBuilder { Opset = 13 };
        m.AddInput("x", OnnxDataType.Float, 3, 3);
        m.AddOutput("y", OnnxDataType.Float);
        m.AddNode("ReduceLogSumExp", ["x"], ["y"], ("axes", new long[] { 1 }), ("keepdims", 0L));
        float[] x = [100f, 101f, 99f, -1e30f, 0f, 1e30f, 88f, 89f, 90f];
        float[] expected = OrtOracle.Run(m.ToBytes(), new Dictionary<string, (int[], float[])> { ["x"] = ([3, 3], x) })["y"].Data;
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"), new BuilderConfig { OptimizationLevel = 0 });
        float[] y = new float[3];
        engine.CreateExecutionContext().Execute([x], [y]);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        Assert.True(ErrorMetrics.RelativeL2(y, expected) <= 1e-6, $"{string.Join(", ", y)} against {string.Join(", ", expected)}");
    }

    /// <summary>F.normalize(x, dim=1) as torch exports it: ReduceL2, Clip to ε, Expand to x's shape (read through Shape), Div.</summary>
    [Fact]
    public void Normalize_as_torch_exports_it_with_a_dynamic_batch()
    {
        var c = new OperatorCase().BatchedInput("x", 3, 16).Output("y");
        c.Model.Opset = 17;
        c.Model.AddInitializer("axes", new long[] { 1 }, [1]);
        c.Model.AddNode("ReduceL2", ["x"], ["norm"], ("axes", new long[] { 1 }), ("keepdims", 1L));
        c.Model.AddInitializer("eps", TensorValue.Scalar(1e-12f));
        c.Model.AddNode("Clip", ["norm", "eps"], ["clipped"]);
        c.Model.AddNode("Shape", ["x"], ["s"]);
        c.Model.AddNode("Expand", ["clipped", "s"], ["e"]);
        c.Model.AddNode("Div", ["x", "e"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new[] { 4, 1, 1 })]
    [InlineData(new[] { 1 })]
    public void PRelu_with_a_slope_per_channel_or_one(int[] slope)
    {
        var c = new OperatorCase().Input("x", 2, 4, 5, 3).Weight("slope", slope).Output("y");
        c.Model.AddNode("PRelu", ["x", "slope"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new[] { 2, 4, 5, 6 })]
    [InlineData(new[] { 3, 4, 7 })]
    public void InstanceNormalization(int[] shape)
    {
        var c = new OperatorCase().Input("x", shape).Weight("scale", shape[1]).Weight("bias", shape[1]).Output("y");
        c.Model.AddNode("InstanceNormalization", ["x", "scale", "bias"], ["y"], ("epsilon", 1e-3f));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>nn.GroupNorm(2, 8) as torch exports it: Reshape to [N, groups, −1], InstanceNormalization with unit scale, Reshape back to Shape(x), then γ and β.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GroupNorm_as_torch_exports_it_with_a_dynamic_batch(int batch)
    {
        var c = new OperatorCase().BatchedInput("x", batch, 8, 3, 5).Weight("gamma", 8, 1, 1).Weight("beta", 8, 1, 1).Output("y");
        c.Model.Opset = 17;
        c.Model.AddInitializer("groups", new long[] { 0, 2, -1 }, [3]);
        c.Model.AddNode("Reshape", ["x", "groups"], ["g"]);
        c.Model.AddInitializer("ones", TensorValue.Float([1f, 1f], 2));
        c.Model.AddInitializer("zeros", TensorValue.Float([0f, 0f], 2));
        c.Model.AddNode("InstanceNormalization", ["g", "ones", "zeros"], ["n"], ("epsilon", 1e-5f));
        c.Model.AddNode("Shape", ["x"], ["s"]);
        c.Model.AddNode("Reshape", ["n", "s"], ["back"]);
        c.Model.AddNode("Mul", ["back", "gamma"], ["scaled"]);
        c.Model.AddNode("Add", ["scaled", "beta"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void PRelu_slope_and_InstanceNormalization_scale_and_bias_refit_by_their_names()
    {
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("slope", ErrorMetrics.RandomValues(seed, 6), [6, 1, 1]);
            m.AddInitializer("scale", ErrorMetrics.RandomValues(seed + 10, 6), [6]);
            m.AddInitializer("bias", ErrorMetrics.RandomValues(seed + 20, 6), [6]);
            m.AddNode("PRelu", ["x", "slope"], ["p"]);
            m.AddNode("InstanceNormalization", ["p", "scale", "bias"], ["y"]);
        }, new BuilderConfig { OptimizationLevel = 0 }, [2, 6, 4, 5], _ => { });
    }

    [Theory]
    [InlineData(1, 0, 1, 1, "NOTSET")]
    [InlineData(2, 1, 1, 1, "NOTSET")]
    [InlineData(1, 2, 2, 1, "NOTSET")]
    [InlineData(1, 0, 1, 2, "NOTSET")]
    [InlineData(2, 0, 1, 1, "SAME_UPPER")]
    public void Conv1d_with_a_dynamic_batch(int stride, int pad, int dilation, int groups, string autoPad)
    {
        // A dynamic length where the window fits every length from 1 (the default profile's least), padded.
        object length = pad > 0 || autoPad != "NOTSET" ? "length" : 17;
        var c = new OperatorCase().SymbolicInput("x", ["batch", 4, length], [3, 4, 17]).Weight("w", 6, 4 / groups, 3).Weight("b", 6).Output("y");
        var attributes = new List<(string, object)> { ("strides", new long[] { stride }), ("dilations", new long[] { dilation }), ("group", (long)groups) };
        if (autoPad == "NOTSET") attributes.Add(("pads", new long[] { pad, pad }));
        else attributes.Add(("auto_pad", autoPad));
        c.Model.AddNode("Conv", ["x", "w", "b"], ["y"], [.. attributes]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>A vocoder's upsampling: ConvTranspose1d, stride 2 (output_padding 1), or to an output_shape.</summary>
    [Theory]
    [InlineData(2, 1, 1, 1, false)]
    [InlineData(3, 0, 2, 1, false)]
    [InlineData(2, 1, 0, 2, false)]
    [InlineData(2, 0, 0, 1, true)]
    public void ConvTranspose1d(int stride, int pad, int outputPadding, int groups, bool outputShape)
    {
        var c = new OperatorCase().BatchedInput("x", 2, 4, 9).Weight("w", 4, 6 / groups, 4).Weight("b", 6).Output("y");
        var attributes = new List<(string, object)> { ("strides", new long[] { stride }), ("group", (long)groups) };
        if (outputShape) attributes.Add(("output_shape", new long[] { 19 }));
        else
        {
            attributes.Add(("pads", new long[] { pad, pad }));
            attributes.Add(("output_padding", new long[] { outputPadding }));
        }
        c.Model.AddNode("ConvTranspose", ["x", "w", "b"], ["y"], [.. attributes]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("MaxPool")]
    [InlineData("AveragePool")]
    public void Pool1d_after_a_conv1d_and_batch_norm(string pool)
    {
        var c = new OperatorCase().BatchedInput("x", 2, 3, 20).Weight("w", 5, 3, 3).Weight("scale", 5).Weight("shift", 5).Weight("mean", 5).Output("y");
        c.Model.AddInitializer("var", ErrorMetrics.RandomValues(9, 5).Select(v => Math.Abs(v) + 0.5f).ToArray(), [5]);
        c.Model.AddNode("Conv", ["x", "w"], ["conv"], ("pads", new long[] { 1, 1 }));
        c.Model.AddNode("BatchNormalization", ["conv", "scale", "shift", "mean", "var"], ["bn"]);
        c.Model.AddNode("Relu", ["bn"], ["r"]);
        c.Model.AddNode(pool, ["r"], ["y"], ("kernel_shape", new long[] { 3 }), ("strides", new long[] { 2 }), ("pads", new long[] { 1, 0 }));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Conv1d_weights_refit_by_their_names()
    {
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("w", ErrorMetrics.RandomValues(seed, 6 * 4 * 3), [6, 4, 3]);
            m.AddInitializer("b", ErrorMetrics.RandomValues(seed + 10, 6), [6]);
            m.AddNode("Conv", ["x", "w", "b"], ["y"], ("pads", new long[] { 1, 1 }));
        }, new BuilderConfig { OptimizationLevel = 0 }, [2, 4, 11], _ => { });
    }

    /// <summary>
    /// A dynamic length that the default profile leaves at 1 (too short for an unpadded window of 3): refused saying at
    /// which shapes, and built once the profile's min and opt shapes say the lengths the model takes.
    /// </summary>
    [Fact]
    public void A_dynamic_length_the_window_does_not_fit_at_the_default_profile_says_so_and_builds_with_a_range()
    {
        var m = new OnnxModelBuilder { Opset = 17 };
        m.AddInput("x", OnnxDataType.Float, "batch", 4, "length");
        m.AddInitializer("w", ErrorMetrics.RandomValues(3, 6 * 4 * 3), [6, 4, 3]);
        m.AddNode("Conv", ["x", "w"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        using var dir = new TempDirectory();
        string path = dir.File("conv1d.onnx");
        m.Save(path);
        var error = Assert.Throws<ShapeException>(() => EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 }));
        Assert.Contains("a window of 3 does not fit an input of 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("at the profile's opt shapes (x [1, 4, 1])", error.Message, StringComparison.Ordinal);

        var settings = new ConversionSettings
        {
            UseCache = false, OptimizationLevel = 0,
            MinShapes = new Dictionary<string, int[]> { ["x"] = [1, 4, 3] }, OptShapes = new Dictionary<string, int[]> { ["x"] = [2, 4, 16] },
        };
        using var engine = EngineConverter.Convert(path, settings);
        foreach (int length in new[] { 3, 16, 40 })
        {
            int[] shape = [2, 4, length];
            float[] x = ErrorMetrics.RandomValues(length, 8 * length);
            var ours = engine.Run(new Dictionary<string, float[]> { ["x"] = x }, new Dictionary<string, int[]> { ["x"] = shape })[0];
            var expected = OrtOracle.Run(path, new Dictionary<string, (int[] Shape, float[] Data)> { ["x"] = (shape, x) })["y"];
            Assert.Equal(expected.Shape, ours.Shape);
            Assert.True(ErrorMetrics.RelativeL2(ours.Data, expected.Data) <= 1e-5, $"length {length}");
        }
    }

    [Theory]
    [InlineData("DepthToSpace", "DCR", 2)]
    [InlineData("DepthToSpace", "CRD", 2)] // torch's pixel_shuffle
    [InlineData("DepthToSpace", "CRD", 3)]
    [InlineData("SpaceToDepth", "", 2)]
    public void Block_shuffles_with_a_dynamic_batch(string op, string mode, int block)
    {
        int channels = op == "DepthToSpace" ? 2 * block * block : 3;
        var c = new OperatorCase().BatchedInput("x", 3, channels, 4 * block, 2 * block).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Relu", ["x"], ["r"]);
        if (mode.Length > 0) c.Model.AddNode(op, ["r"], ["y"], ("blocksize", (long)block), ("mode", mode));
        else c.Model.AddNode(op, ["r"], ["y"], ("blocksize", (long)block));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void A_block_shuffle_of_a_dynamic_height_asks_for_a_fixed_shape()
    {
        var m = new OnnxModelBuilder { Opset = 13 };
        m.AddInput("x", OnnxDataType.Float, "batch", 8, "height", 6);
        m.AddNode("DepthToSpace", ["x"], ["y"], ("blocksize", 2L));
        m.AddOutput("y", OnnxDataType.Float);
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("-InputShape", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new long[] { 1, 2, 1, 3 }, false)]
    [InlineData(new long[] { 2, 1, 1, 1 }, false)]
    [InlineData(new long[] { 1, 1, 1, 1 }, false)]
    [InlineData(new long[] { 1, 2, 1 }, true)]
    public void Tile_of_a_tensor_or_a_weight(long[] repeats, bool weight)
    {
        var c = new OperatorCase().BatchedInput("x", 2, 3, 4, 5).Output("y");
        c.Model.Opset = 13;
        c.Model.AddInitializer("repeats", repeats, [repeats.Length]);
        if (weight)
        {
            c.Weight("w", 3, 2, 5);
            c.Model.AddNode("Tile", ["w", "repeats"], ["t"]);
            c.Model.AddNode("Add", ["x", "t"], ["y"]);
        }
        else c.Model.AddNode("Tile", ["x", "repeats"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("GlobalAveragePool")]
    [InlineData("GlobalMaxPool")]
    public void Global_pools_of_a_sequence(string op)
    {
        var c = new OperatorCase().BatchedInput("x", 2, 4, 9).Output("y");
        c.Model.AddNode(op, ["x"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void A_1d_max_pool_asked_for_its_indices_is_refused()
    {
        var m = new OnnxModelBuilder { Opset = 13 };
        m.AddInput("x", OnnxDataType.Float, 2, 4, 9);
        m.AddNode("MaxPool", ["x"], ["y", "indices"], ("kernel_shape", new long[] { 3 }));
        m.AddOutput("y", OnnxDataType.Float);
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("Indices", refused.Message, StringComparison.Ordinal);
    }
}
