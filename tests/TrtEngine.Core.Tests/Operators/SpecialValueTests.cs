using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>NaN, infinities and the float range's ends through operators, elementwise (NaN where NaN, infinities by sign).</summary>
public sealed class SpecialValueTests
{
    private static float[] Run(OnnxModelBuilder model, int[] shape, float[] x, BuilderConfig config)
    {
        var engine = Native.Builder.EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(model.ToBytes(), null), "model"), config);
        var context = engine.CreateExecutionContext();
        context.SetInputShape(0, shape);
        var y = new float[context.GetOutputShape(0).Aggregate(1L, (a, d) => a * d)];
        context.Execute([x], [y]);
        return y;
    }

    private static float[] OnnxRuntime(OnnxModelBuilder model, int[] shape, float[] x) =>
        OrtOracle.Run(model.ToBytes(), new Dictionary<string, (int[] Shape, float[] Data)> { ["x"] = (shape, x) })["y"].Data;

    private static OnnxModelBuilder Model(int[] shape, Action<OnnxModelBuilder> nodes)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, shape.Cast<object?>().ToArray());
        m.AddOutput("y", OnnxDataType.Float);
        nodes(m);
        return m;
    }

    private static void AssertSame(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            bool same = float.IsNaN(expected[i]) ? float.IsNaN(actual[i])
                : float.IsFinite(expected[i]) ? Math.Abs(actual[i] - expected[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])) : actual[i] == expected[i];
            Assert.True(same, $"{what}: [{i}] engine {actual[i]}, expected {expected[i]}");
        }
    }

    private static readonly BuilderConfig[] Configs =
        [new() { OptimizationLevel = 0 }, new() { OptimizationLevel = 0, ChannelsLast = false }];

    /// <summary>ONNX's omitted bounds are numeric_limits lowest() and max(): ±∞ becomes ±float.MaxValue (they stayed ±∞).</summary>
    [Theory]
    [InlineData("none")]
    [InlineData("min")]
    [InlineData("legacy")]
    public void Clip_without_a_bound_takes_infinities_to_the_float_range(string bounds)
    {
        float[] x = [float.PositiveInfinity, float.NegativeInfinity, float.NaN, 3e38f, -3e38f, -0f, 1.5f, -2f, float.PositiveInfinity, 7f, 8f, 9f, 10f, 11f, 12f, 13f, float.NegativeInfinity];
        var model = Model([1, x.Length], m =>
        {
            if (bounds == "legacy")
            {
                m.Opset = 6;
                m.AddNode("Clip", ["x"], ["y"], ("min", -1f));
            }
            else if (bounds == "min")
            {
                m.AddInitializer("lo", [-1f], []);
                m.AddNode("Clip", ["x", "lo"], ["y"]);
            }
            else m.AddNode("Clip", ["x"], ["y"]);
        });
        float[] expected = OnnxRuntime(model, [1, x.Length], x);
        Assert.Equal(float.MaxValue, expected[0]);
        foreach (var config in Configs)
            AssertSame(expected, Run(model, [1, x.Length], x, config), $"Clip {bounds}");
    }

    /// <summary>
    /// Where both linear taps are the last pixel (the bottom row, the right column) the engine weighed them 1 and 0, so an
    /// infinite pixel there came out ∞·1 + ∞·0 = NaN; ONNX Runtime weighs them ½ and ½ and keeps the infinity.
    /// </summary>
    [Theory]
    [InlineData("half_pixel")]
    [InlineData("asymmetric")]
    [InlineData("align_corners")]
    public void Resize_linear_keeps_an_infinite_edge_pixel_infinite(string transform)
    {
        int[] shape = [1, 2, 5, 5];
        var x = Enumerable.Range(0, 50).Select(i => (float)Math.Sin(i)).ToArray();
        x[4] = float.PositiveInfinity;      // top row, right column
        x[22] = float.NegativeInfinity;     // bottom row
        x[24] = float.NaN;                  // bottom-right corner
        x[25 + 24] = float.PositiveInfinity; // the second plane's corner
        x[25 + 12] = float.NegativeInfinity; // an inner pixel
        var model = Model(shape, m =>
        {
            m.AddInitializer("scales", [1f, 1f, 2f, 2f], [4]);
            m.AddNode("Resize", ["x", "", "scales"], ["y"], ("mode", "linear"), ("coordinate_transformation_mode", transform));
        });
        float[] expected = OnnxRuntime(model, shape, x);
        Assert.Contains(float.PositiveInfinity, expected);
        foreach (var config in Configs)
            AssertSame(expected, Run(model, shape, x, config), $"Resize {transform}");
    }

    /// <summary>
    /// A NaN in a max pool's window gives NaN on every path. The vector paths took the instruction's max with the
    /// accumulator first, which returns the second operand where either is NaN: the value after a NaN replaced it, so a
    /// window gave the max of the values after its last NaN ([5, NaN, 1] → 1, [-3, NaN, -4] → −4), while the scalar paths
    /// (other strides, channels past the vectors) gave NaN. ONNX Runtime's MaxPool and GlobalMaxPool ignore NaN (5 and −3).
    /// </summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void A_NaN_in_a_max_pool_window_gives_NaN_on_every_path(int stride, bool global)
    {
        const float n = float.NaN;
        float[][] windows = [[5, n, 1], [n, 5, 1], [5, 1, n], [-3, n, -4], [2, 7, 4], [float.NegativeInfinity, n, float.PositiveInfinity]];
        int k = 3, outW = 19, w = global ? 40 : (outW - 1) * stride + k;
        foreach (int channels in new[] { 6, 24, 37 })
        {
            int[] shape = [1, channels, 2, w];
            var x = new float[channels * 2 * w];
            var r = new Random(channels);
            for (int i = 0; i < x.Length; i++) x[i] = (float)(r.NextDouble() * 2 - 1);
            // Channel c, row 0: window (c + o) % patterns at output column o; row 1 of the pool is plain values.
            for (int c = 0; c < channels; c++)
                for (int o = 0; o < (global ? 1 : outW); o++)
                {
                    var pattern = windows[(c + o) % windows.Length];
                    int at = global ? 13 : o * stride;
                    for (int j = 0; j < k; j++) x[(c * 2) * w + at + j] = pattern[j];
                }
            foreach (bool channelsLast in new[] { false, true })
            {
                // A depthwise 1×1 convolution of weight 1 in front makes the pool channels-last (and leaves values as they are).
                var model = Model(shape, m =>
                {
                    string input = "x";
                    if (channelsLast)
                    {
                        m.AddInitializer("w", Enumerable.Repeat(1f, channels).ToArray(), [channels, 1, 1, 1]);
                        m.AddNode("Conv", ["x", "w"], ["c"], ("group", (long)channels));
                        input = "c";
                    }
                    if (global) m.AddNode("GlobalMaxPool", [input], ["y"]);
                    else m.AddNode("MaxPool", [input], ["y"], ("kernel_shape", new long[] { 2, k }), ("strides", new long[] { 1, stride }));
                });
                float[] y = Run(model, shape, x, new BuilderConfig { OptimizationLevel = 0, ChannelsLast = channelsLast });
                int outs = global ? 1 : outW;
                for (int c = 0; c < channels; c++)
                    for (int o = 0; o < outs; o++)
                    {
                        var window = new List<float>();
                        int width = global ? w : k, at = global ? 0 : o * stride;
                        for (int row = 0; row < 2; row++)
                            for (int j = 0; j < width; j++) window.Add(x[(c * 2 + row) * w + at + j]);
                        float expected = window.Any(float.IsNaN) ? float.NaN : window.Max();
                        float actual = y[c * outs + o];
                        Assert.True(expected.Equals(actual),
                            $"{(global ? "GlobalMaxPool" : $"MaxPool stride {stride}")} {(channelsLast ? "channels-last" : "NCHW")}, {channels} channels, channel {c} output {o}: {actual}, expected {expected}");
                    }
            }
        }
    }

    /// <summary>
    /// TopK ranks NaN as larger than every number, as torch.topk does: every NaN first of the largest, last of the
    /// smallest, ties by index. Found by a QA helper: NaN came last of the largest too ([3, 2, 1] for the largest three
    /// of [1, NaN, 3, 2, NaN]). ONNX leaves NaN open, and ONNX Runtime takes some NaNs and not others ([NaN, 3, 2]), so
    /// the expectation is written out here.
    /// </summary>
    [Theory]
    [InlineData(1L, new[] { float.NaN, float.NaN, 3f, float.NaN, float.PositiveInfinity, 4f, float.NaN, 2f, 2f })]
    [InlineData(0L, new[] { 1f, 2f, 3f, float.NegativeInfinity, -1f, 4f, -3f, 0f, 2f })]
    public void TopK_ranks_NaN_as_larger_than_every_number(long largest, float[] expected)
    {
        int[] shape = [3, 5];
        float[] x = [1f, float.NaN, 3f, 2f, float.NaN, float.NaN, -1f, float.NegativeInfinity, 4f, float.PositiveInfinity, 0f, 2f, 2f, float.NaN, -3f];
        var model = Model(shape, m =>
        {
            m.Opset = 11;
            m.AddInitializer("k", [3L], [1]);
            m.AddNode("TopK", ["x", "k"], ["y", "indices"], ("largest", largest));
        });
        foreach (var config in Configs) AssertSame(expected, Run(model, shape, x, config), $"TopK largest={largest}");
    }

    /// <summary>The elementwise math operators on NaN, ±∞, ±0 and the float range's ends, as ONNX Runtime computes them.</summary>
    [Theory]
    [InlineData("Exp", null)]
    [InlineData("Neg", null)]
    [InlineData("Abs", null)]
    [InlineData("Sqrt", null)]
    [InlineData("Reciprocal", null)]
    [InlineData("Log", null)]
    [InlineData("Elu", null)]
    [InlineData("Selu", null)]
    [InlineData("Softplus", null)]
    [InlineData("Softsign", null)]
    [InlineData("Mish", null)]
    [InlineData("Floor", null)]
    [InlineData("Ceil", null)]
    [InlineData("Round", null)] // 2.5 and −2.5 to even
    [InlineData("Sign", null)]
    [InlineData("Sin", null)]
    [InlineData("Cos", null)]
    [InlineData("Pow", 2f)]
    [InlineData("Pow", 0.5f)]
    [InlineData("Pow", 0f)]
    [InlineData("Max", 1f)]
    [InlineData("Min", 1f)]
    public void Elementwise_math_on_special_values(string op, float? operand)
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, -1f, 1f, 2.5f, -2.5f, 89f, -89f, float.MaxValue, float.MinValue, float.Epsilon, 1e-30f, -3f];
        int[] shape = [2, 8];
        var model = Model(shape, m =>
        {
            m.Opset = 18; // Mish's first
            if (operand is { } v)
            {
                m.AddInitializer("b", TensorValue.Scalar(v));
                m.AddNode(op, ["x", "b"], ["y"]);
            }
            else m.AddNode(op, ["x"], ["y"]);
        });
        float[] expected = OnnxRuntime(model, shape, x);
        foreach (var config in Configs) AssertSame(expected, Run(model, shape, x, config), $"{op} {operand}");
    }
}
