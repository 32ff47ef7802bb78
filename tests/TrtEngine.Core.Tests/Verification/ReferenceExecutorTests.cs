using TrtEngine.Core.Onnx;
using TrtEngine.Core.Tests.Operators;
using TrtEngine.Core.Verification;
using TrtEngine.Native.Layers;

namespace TrtEngine.Core.Tests.Verification;

/// <summary>
/// The reference executor against ONNX Runtime on three generated models that between them hold every layer kind the
/// importer produces (every operator test also checks it, through OperatorCase), and on an engine it disagrees with.
/// </summary>
public sealed class ReferenceExecutorTests
{
    private static void Ints(OperatorCase c, string name, params long[] values) => c.Model.AddInitializer(name, values, [values.Length]);

    /// <summary>Conv, BatchNorm, Relu, MaxPool, ConvTranspose, Pad, Resize, GlobalAveragePool, Flatten, Gemm, Softmax.</summary>
    private static OperatorCase ConvolutionalModel()
    {
        var c = new OperatorCase().Input("x", 2, 3, 10, 10).Weight("w", 4, 3, 3, 3).Weight("b", 4)
            .Weight("gamma", 4).Weight("beta", 4).Weight("mean", 4).Weight("wt", 4, 2, 3, 3).Weight("wg", 5, 2).Weight("bg", 5).Output("y");
        c.Model.AddInitializer("var", [0.5f, 1f, 1.5f, 2f], [4]);
        Ints(c, "pads", 0, 0, 1, 1, 0, 0, 0, 2);
        c.Model.AddInitializer("roi", Array.Empty<float>(), [0]);
        c.Model.AddInitializer("scales", [1f, 1f, 0.5f, 0.5f], [4]);
        c.Model.AddNode("Conv", ["x", "w", "b"], ["c1"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddNode("BatchNormalization", ["c1", "gamma", "beta", "mean", "var"], ["bn"]);
        c.Model.AddNode("Relu", ["bn"], ["r"]);
        c.Model.AddNode("MaxPool", ["r"], ["p"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        c.Model.AddNode("ConvTranspose", ["p", "wt"], ["ct"], ("strides", new long[] { 2, 2 }));
        c.Model.AddNode("Pad", ["ct", "pads"], ["pd"], ("mode", "reflect"));
        c.Model.AddNode("Resize", ["pd", "roi", "scales"], ["rs"], ("mode", "linear"));
        c.Model.AddNode("GlobalAveragePool", ["rs"], ["g"]);
        c.Model.AddNode("Flatten", ["g"], ["f"]);
        c.Model.AddNode("Gemm", ["f", "wg", "bg"], ["h"], ("transB", 1L));
        c.Model.AddNode("Softmax", ["h"], ["y"]);
        return c;
    }

    /// <summary>Transpose, Slice, Concat, ReduceMean, MatMul of two tensors, LayerNormalization, Gather of a weight by ids, CumSum, ArgMax, GatherElements, Greater, Where, Add.</summary>
    private static OperatorCase TensorModel()
    {
        var c = new OperatorCase().Input("a", 2, 3, 4).Input("b", 2, 4, 5).IntegerInput("ids", OnnxDataType.Int64, 4, [2, 3], [2, 3])
            .Weight("table", 4, 5).Output("y");
        Ints(c, "starts", 1);
        Ints(c, "ends", 4);
        Ints(c, "axes", 1);
        c.Model.AddNode("Transpose", ["a"], ["t"], ("perm", new long[] { 0, 2, 1 }));
        c.Model.AddNode("Slice", ["t", "starts", "ends", "axes"], ["s"]);
        c.Model.AddNode("Concat", ["s", "s"], ["cc"], ("axis", 2L));
        c.Model.AddNode("ReduceMean", ["cc"], ["r"], ("axes", new long[] { 2 }), ("keepdims", 1L));
        c.Model.AddNode("MatMul", ["a", "b"], ["m"]);
        c.Weight("ln_scale", 5).Weight("ln_bias", 5);
        c.Model.AddNode("LayerNormalization", ["m", "ln_scale", "ln_bias"], ["normalized"]);
        c.Model.AddNode("Gather", ["table", "ids"], ["embedded"]);
        c.Model.AddNode("Add", ["normalized", "embedded"], ["sum"]);
        c.Model.AddInitializer("last", new long[] { -1 }, []);
        c.Model.AddNode("CumSum", ["sum", "last"], ["running"]);
        c.Model.AddNode("ArgMax", ["sum"], ["largest"], ("axis", -1L), ("keepdims", 1L));
        c.Model.AddNode("GatherElements", ["sum", "largest"], ["peak"], ("axis", -1L));
        c.Model.AddNode("Add", ["running", "peak"], ["n"]);
        c.Model.AddInitializer("zero", [0f], []);
        c.Model.AddNode("Greater", ["n", "zero"], ["positive"]);
        c.Model.AddNode("Where", ["positive", "n", "r"], ["w"]);
        c.Model.AddNode("Add", ["w", "r"], ["y"]);
        return c;
    }

    /// <summary>A bidirectional LSTM whose last hidden states feed a GRU.</summary>
    private static OperatorCase SequenceModel()
    {
        var c = new OperatorCase().Input("x", 4, 2, 3).Weight("W", 2, 12, 3).Weight("R", 2, 12, 3).Weight("B", 2, 24)
            .Weight("Wg", 1, 9, 3).Weight("Rg", 1, 9, 3).Output("y");
        c.Model.AddNode("LSTM", ["x", "W", "R", "B"], ["", "h"], ("hidden_size", 3L), ("direction", "bidirectional"));
        c.Model.AddNode("GRU", ["h", "Wg", "Rg"], ["y"], ("hidden_size", 3L), ("linear_before_reset", 1L));
        return c;
    }

    [Fact]
    public void Generated_models_hold_every_layer_kind_and_the_reference_matches_onnx_runtime_on_each()
    {
        var kinds = new HashSet<LayerKind>();
        foreach (var c in new[] { ConvolutionalModel(), TensorModel(), SequenceModel() })
        {
            kinds.UnionWith(OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "model").Layers.Select(l => l.Kind));
            var (engine, reference) = c.Compare();
            Assert.True(reference <= 1e-6, $"reference executor: relative L2 {reference:E2} against ONNX Runtime");
            Assert.True(engine <= 1e-5, $"engine: relative L2 {engine:E2} against ONNX Runtime");
        }
        // Reformat, ChannelShuffle, FusedInvertedResidual and FusedConvPool layers are the builder's (layout changes between
        // regions, a fused shuffle, fused convolution chains); an imported network never holds one.
        Assert.Equal(Enum.GetValues<LayerKind>().Where(k => k is not (LayerKind.Reformat or LayerKind.ChannelShuffle or LayerKind.FusedInvertedResidual or LayerKind.FusedConvPool)).Order(),
                     kinds.Order());
    }

    [Fact]
    public void A_cancelled_run_stops_between_layers()
    {
        // Update-TrtEngineWeights -Verify's Ctrl+C: a large model runs for seconds in float64, so the run checks between layers.
        var network = OnnxImporter.Import(OnnxModel.Parse(TensorModel().Model.ToBytes(), null), "model");
        var inputs = new Dictionary<string, (int[] Shape, float[] Data)>
        {
            ["a"] = ([2, 3, 4], Testing.Metrics.ErrorMetrics.RandomValues(1, 24)), ["b"] = ([2, 4, 5], Testing.Metrics.ErrorMetrics.RandomValues(2, 40)),
            ["ids"] = ([2, 3], [0, 1, 2, 3, 2, 1]),
        };
        Assert.NotEmpty(new ReferenceExecutor(network).Run(inputs));
        using var stop = new CancellationTokenSource();
        stop.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new ReferenceExecutor(network).Run(inputs, stop.Token));
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(-1.7, -0.9837904585907746)]
    [InlineData(2.9, 0.9999589021219005)]
    [InlineData(3.5, 0.9999992569016276)]
    [InlineData(-5.0, -0.9999999999984626)]
    public void Erf_matches_known_values_to_double_precision(double x, double erf) =>
        Assert.Equal(erf, ReferenceMath.Erf(x), 1e-14);
}
