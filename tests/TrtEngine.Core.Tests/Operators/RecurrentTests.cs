using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Builder;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>LSTM and GRU against ONNX Runtime: directions, biases, initial states, each output; their weights refit; what is refused.</summary>
public sealed class RecurrentTests
{
    private const int Steps = 5, Batch = 2, Input = 6, Hidden = 4;

    /// <summary>An LSTM or GRU node with X, W, R, maybe B and initial states; outputs named after ONNX's (Y, Y_h, Y_c).</summary>
    private static OperatorCase Case(string op, string direction, bool bias, bool initial, int linearBeforeReset = 0, int batch = Batch, int hidden = Hidden)
    {
        int directions = direction == "bidirectional" ? 2 : 1, gates = op == "LSTM" ? 4 : 3;
        var c = new OperatorCase().Input("x", Steps, batch, Input)
            .Weight("W", directions, gates * hidden, Input).Weight("R", directions, gates * hidden, hidden);
        c.Model.Opset = 14;
        if (bias) c.Weight("B", directions, 2 * gates * hidden);
        int[] state = [directions, batch, hidden];
        if (initial)
        {
            c.Input("h0", state);
            if (op == "LSTM") c.Input("c0", state);
        }
        string[] outputs = op == "LSTM" ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"];
        foreach (string o in outputs) c.Output(o);
        string[] inputs = ["x", "W", "R", bias ? "B" : "", "", initial ? "h0" : "", .. op == "LSTM" ? new[] { initial ? "c0" : "" } : []];
        var attributes = new List<(string, object)> { ("hidden_size", (long)hidden), ("direction", direction) };
        if (op == "GRU") attributes.Add(("linear_before_reset", (long)linearBeforeReset));
        c.Model.AddNode(op, [.. inputs.Reverse().SkipWhile(i => i.Length == 0).Reverse()], outputs, [.. attributes]);
        return c;
    }

    /// <summary>
    /// Cells whose step GEMMs are large enough for the pool's threads to share their columns (80 units over a batch of 8:
    /// 100K multiply-adds or more in a step's shared GEMMs), each thread its panels of R, the last panel partly filled
    /// where the panels are 24 or 32 columns wide (the LSTM's 320 columns, the GRU's 160 of z and r and 80 of h).
    /// </summary>
    [Theory]
    [InlineData("LSTM", "bidirectional", 0)]
    [InlineData("GRU", "forward", 1)]
    [InlineData("GRU", "reverse", 0)]
    public void Steps_shared_by_threads(string op, string direction, int linearBeforeReset) =>
        Case(op, direction, bias: true, initial: true, linearBeforeReset, batch: 8, hidden: 80).AssertMatchesOnnxRuntime();

    [Theory]
    [InlineData("forward", true, false)]
    [InlineData("forward", false, true)]
    [InlineData("reverse", true, true)]
    [InlineData("bidirectional", true, true)]
    [InlineData("bidirectional", false, false)]
    public void LSTM(string direction, bool bias, bool initial) => Case("LSTM", direction, bias, initial).AssertMatchesOnnxRuntime();

    [Theory]
    [InlineData("forward", true, false, 1)] // as torch exports nn.GRU
    [InlineData("forward", true, true, 0)]
    [InlineData("reverse", false, true, 1)]
    [InlineData("bidirectional", true, true, 1)]
    [InlineData("bidirectional", true, false, 0)]
    public void GRU(string direction, bool bias, bool initial, int linearBeforeReset) =>
        Case("GRU", direction, bias, initial, linearBeforeReset).AssertMatchesOnnxRuntime();

    /// <summary>W, R and B are the model's weights as they are: a refit from a second model gives its outputs bit for bit (the layer listed by its cell).</summary>
    [Theory]
    [InlineData("LSTM")]
    [InlineData("GRU")]
    public void Weights_refit_by_their_names(string op) => RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
    {
        int gates = op == "LSTM" ? 4 : 3;
        m.Opset = 14;
        m.AddInitializer("W", ErrorMetrics.RandomValues(seed, gates * Hidden * Input), [1, gates * Hidden, Input]);
        m.AddInitializer("R", ErrorMetrics.RandomValues(seed + 10, gates * Hidden * Hidden), [1, gates * Hidden, Hidden]);
        m.AddInitializer("B", ErrorMetrics.RandomValues(seed + 20, 2 * gates * Hidden), [1, 2 * gates * Hidden]);
        m.AddNode(op, ["x", "W", "R", "B"], ["y"], ("hidden_size", (long)Hidden));
    }, new BuilderConfig { OptimizationLevel = 0 }, [Steps, Batch, Input],
        engine => Assert.Contains($"{op} (forward, sequence)", engine.Plan.Layers.Select(l => Engines.TrtEngineInfo.Describe(l, engine.Plan))));

    /// <summary>
    /// An engine's execution context packs a cell's W and R once and keeps them: refitted back and forth from files read
    /// into recycled buffers (so a value may come back at an address an earlier one had), each call computes from the
    /// weights bound for it, bit for bit as an engine built from them.
    /// </summary>
    [Theory]
    [InlineData("LSTM")]
    [InlineData("GRU")]
    public void Packed_weights_follow_every_refit(string op)
    {
        using var dir = new TempDirectory();
        const int batch = 8, hidden = 80;
        int gates = op == "LSTM" ? 4 : 3;
        string[] paths = [dir.File("v1.onnx"), dir.File("v2.onnx")];
        for (int v = 0; v < 2; v++)
        {
            var m = new OnnxModelBuilder { Opset = 14 };
            m.AddInput("x", OnnxDataType.Float, Steps, batch, Input);
            m.AddInitializer("W", ErrorMetrics.RandomValues(10 * v + 1, gates * hidden * Input), [1, gates * hidden, Input]);
            m.AddInitializer("R", ErrorMetrics.RandomValues(10 * v + 2, gates * hidden * hidden), [1, gates * hidden, hidden]);
            m.AddInitializer("B", ErrorMetrics.RandomValues(10 * v + 3, 2 * gates * hidden), [1, 2 * gates * hidden]);
            m.AddNode(op, ["x", "W", "R", "B"], ["y"], ("hidden_size", (long)hidden));
            m.AddOutput("y", OnnxDataType.Float);
            m.Save(paths[v]);
        }
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0 };
        var feed = new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(7, Steps * batch * Input) };
        float[][] expected = [.. paths.Select(path =>
        {
            using var built = EngineConverter.Convert(path, settings);
            return built.Run(feed)[0].Data;
        })];
        using var engine = EngineConverter.Convert(paths[0], settings);
        Assert.Equal(expected[0], engine.Run(feed)[0].Data);
        for (int round = 1; round <= 6; round++)
        {
            using (var file = WeightFile.Read(paths[round % 2], engine)) engine.Refit(file.Values);
            Assert.Equal(expected[round % 2], engine.Run(feed)[0].Data);
        }
    }

    [Theory]
    [InlineData("clip", "without clipping")]
    [InlineData("activations", "default ones")]
    [InlineData("sequence_lens", "full length")]
    [InlineData("layout", "layout 0")]
    public void What_the_engine_does_not_compute_is_refused(string what, string says)
    {
        var m = new OnnxModelBuilder { Opset = 14 };
        m.AddInput("x", OnnxDataType.Float, Steps, Batch, Input);
        m.AddInitializer("W", ErrorMetrics.RandomValues(1, 4 * Hidden * Input), [1, 4 * Hidden, Input]);
        m.AddInitializer("R", ErrorMetrics.RandomValues(2, 4 * Hidden * Hidden), [1, 4 * Hidden, Hidden]);
        m.AddInitializer("lengths", TensorValue.Int32([5, 3], 2));
        m.AddOutput("y", OnnxDataType.Float);
        var attributes = new List<(string, object)> { ("hidden_size", (long)Hidden) };
        if (what == "clip") attributes.Add(("clip", 3f));
        if (what == "activations") attributes.Add(("activations", new[] { "Relu", "Tanh", "Tanh" }));
        if (what == "layout") attributes.Add(("layout", 1L));
        m.AddNode("LSTM", what == "sequence_lens" ? ["x", "W", "R", "", "lengths"] : ["x", "W", "R"], ["y"], [.. attributes]);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains(says, error.Message);
    }
}
