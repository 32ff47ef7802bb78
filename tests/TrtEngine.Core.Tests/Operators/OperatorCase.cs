using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Verification;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Plan;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>A small ONNX model run by TrtEngine and by ONNX Runtime on the same fresh random inputs.</summary>
internal sealed class OperatorCase
{
    private readonly Dictionary<string, int[]> _inputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _limits = new(StringComparer.Ordinal);
    private int _seed = 17;

    public OnnxModelBuilder Model { get; } = new();

    public OperatorCase Input(string name, params int[] shape) => SymbolicInput(name, shape.Cast<object?>().ToArray(), shape);

    /// <summary>An input whose first dimension is the dynamic "batch", fed with <paramref name="shape"/>.</summary>
    public OperatorCase BatchedInput(string name, params int[] shape) => SymbolicInput(name, ["batch", .. shape[1..].Cast<object?>()], shape);

    /// <summary>An input with named (dynamic) dimensions where <paramref name="dims"/> holds strings, fed with <paramref name="shape"/>.</summary>
    public OperatorCase SymbolicInput(string name, object?[] dims, int[] shape)
    {
        Model.AddInput(name, OnnxDataType.Float, dims);
        _inputs[name] = shape;
        return this;
    }

    /// <summary>An integer (or bool) input of random values in [0, <paramref name="limit"/>): token ids, masks.</summary>
    public OperatorCase IntegerInput(string name, OnnxDataType type, int limit, object?[] dims, int[] shape)
    {
        Model.AddInput(name, type, dims);
        _inputs[name] = shape;
        _limits[name] = limit;
        return this;
    }

    /// <summary>A float initializer of random values (a weight).</summary>
    public OperatorCase Weight(string name, params int[] shape)
    {
        Model.AddInitializer(name, ErrorMetrics.RandomValues(_seed++, shape.Aggregate(1L, (a, d) => a * d)), shape.Select(d => (long)d).ToArray());
        return this;
    }

    public OperatorCase Output(string name)
    {
        Model.AddOutput(name, OnnxDataType.Float);
        return this;
    }

    /// <summary>
    /// Adds the output y = x · 1: the Mul runs NCHW, so the layers that make x stay inside the channels-last region
    /// (its own initializer per output, so a model may leave the region more than once).
    /// </summary>
    public OperatorCase LeaveRegion(string x, string y = "y")
    {
        Model.AddInitializer($"one.{y}", [1f], [1]);
        Model.AddNode("Mul", [x, $"one.{y}"], [y]);
        return Output(y);
    }

    /// <summary>
    /// Converts, runs the engine, the reference executor (the imported network in float64) and ONNX Runtime on the
    /// same inputs, and returns the largest relative L2 error of the engine and of the reference against ONNX Runtime.
    /// </summary>
    public (double Engine, double Reference) Compare(int optimizationLevel = 1) => Compare((bytes, feeds) =>
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.onnx");
        File.WriteAllBytes(path, bytes);
        var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = optimizationLevel });
        if (RoundTripPlan)
        {
            using var plan = new MemoryStream();
            engine.Export(plan, includeWeights: true);
            engine = Engines.TrtEngine.Import(plan.ToArray());
        }
        Plan = engine.Native.Plan;
        return engine.Run(feeds.ToDictionary(f => f.Key, f => f.Value.Data), feeds.ToDictionary(f => f.Key, f => f.Value.Shape))
            .ToDictionary(o => o.Name, o => (o.Shape, o.Data));
    });

    /// <summary>As <see cref="Compare(int)"/>, with the engine built by the Native builder under <paramref name="config"/>.</summary>
    public (double Engine, double Reference) Compare(BuilderConfig config) => Compare((bytes, feeds) =>
    {
        var engine = Native.Builder.EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(bytes, null), "model"), config);
        Plan = engine.Plan;
        var context = engine.CreateExecutionContext();
        for (int i = 0; i < Plan.Inputs.Length; i++) context.SetInputShape(i, feeds[Plan.InputName(i)].Shape);
        float[][] inputs = Plan.Inputs.Select((_, i) => feeds[Plan.InputName(i)].Data).ToArray();
        float[][] outputs = Plan.Outputs.Select((_, i) => new float[context.GetOutputShape(i).Aggregate(1L, (a, d) => a * d)]).ToArray();
        context.Execute(inputs, outputs);
        return Plan.Outputs.Select((_, i) => (Plan.OutputName(i), context.GetOutputShape(i), outputs[i])).ToDictionary(o => o.Item1, o => (o.Item2, o.Item3));
    });

    /// <summary>The plan of the engine the last comparison ran.</summary>
    public EnginePlan? Plan { get; private set; }

    private (double Engine, double Reference) Compare(Func<byte[], Dictionary<string, (int[] Shape, float[] Data)>, Dictionary<string, (int[] Shape, float[] Data)>> run)
    {
        byte[] bytes = Model.ToBytes();
        var feeds = _inputs.ToDictionary(i => i.Key, i => (i.Value, Values(i.Key, ErrorMetrics.RandomValues(_seed++, i.Value.Aggregate(1L, (a, d) => a * d)))));
        var expected = OrtOracle.Run(bytes, feeds);
        var reference = new ReferenceExecutor(OnnxImporter.Import(OnnxModel.Parse(bytes, null), "model")).Run(feeds);
        double worst = 0, worstReference = 0;
        foreach (var (name, (shape, data)) in run(bytes, feeds))
        {
            Assert.Equal(expected[name].Shape, shape);
            Assert.Equal(expected[name].Shape, reference[name].Shape);
            worst = Math.Max(worst, ErrorMetrics.RelativeL2(data, expected[name].Data));
            worstReference = Math.Max(worstReference, ErrorMetrics.RelativeL2(Array.ConvertAll(reference[name].Data, v => (float)v), expected[name].Data));
        }
        return (worst, worstReference);
    }

    /// <summary>Runs the engine as read back from its exported plan, so every layer's parameters cross the plan format.</summary>
    public bool RoundTripPlan { get; set; }

    /// <summary>Compares the engine and the reference executor with ONNX Runtime; fails above the operator tolerance, relative L2 ≤ 1e-5.</summary>
    public void AssertMatchesOnnxRuntime(int optimizationLevel = 1) => AssertWithinTolerance(Compare(optimizationLevel));

    /// <summary>As <see cref="AssertMatchesOnnxRuntime(int)"/>, built by the Native builder under <paramref name="config"/>.</summary>
    public void AssertMatchesOnnxRuntime(BuilderConfig config) => AssertWithinTolerance(Compare(config));

    private static void AssertWithinTolerance((double Engine, double Reference) error)
    {
        const double tolerance = 1e-5;
        Assert.True(error.Engine <= tolerance, $"engine: relative L2 error {error.Engine:E2} > {tolerance:E0}");
        Assert.True(error.Reference <= tolerance, $"reference executor: relative L2 error {error.Reference:E2} > {tolerance:E0}");
    }

    /// <summary>Inputs for Div stay away from zero so the comparison measures the operator, not a pole.</summary>
    public bool AvoidZero { get; set; }

    /// <summary>An input's values from uniform ones in [−1, 1): integers in [0, limit) for an integer input.</summary>
    private float[] Values(string input, float[] uniform) =>
        _limits.TryGetValue(input, out int limit) ? Array.ConvertAll(uniform, v => MathF.Min(limit - 1, MathF.Floor((v + 1) / 2 * limit))) : PositiveOr(uniform);

    private float[] PositiveOr(float[] values) => AvoidZero ? values.Select(v => v >= 0 ? v + 0.5f : v - 0.5f).ToArray() : values;
}
