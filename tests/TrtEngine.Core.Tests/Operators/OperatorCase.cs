using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Verification;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>A small ONNX model run by TrtEngine and by ONNX Runtime on the same fresh random inputs.</summary>
internal sealed class OperatorCase
{
    private readonly Dictionary<string, int[]> _inputs = new(StringComparer.Ordinal);
    private int _seed = 17;

    public OnnxModelBuilder Model { get; } = new();

    public OperatorCase Input(string name, params int[] shape)
    {
        Model.AddInput(name, OnnxDataType.Float, shape.Cast<object?>().ToArray());
        _inputs[name] = shape;
        return this;
    }

    /// <summary>An input whose first dimension is the dynamic "batch", fed with <paramref name="shape"/>.</summary>
    public OperatorCase BatchedInput(string name, params int[] shape)
    {
        Model.AddInput(name, OnnxDataType.Float, ["batch", .. shape[1..].Cast<object?>()]);
        _inputs[name] = shape;
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
    /// Converts, runs the engine, the reference executor (the imported network in float64) and ONNX Runtime on the
    /// same inputs, and returns the largest relative L2 error of the engine and of the reference against ONNX Runtime.
    /// </summary>
    public (double Engine, double Reference) Compare(int optimizationLevel = 1)
    {
        byte[] bytes = Model.ToBytes();
        var feeds = _inputs.ToDictionary(i => i.Key, i => (i.Value, PositiveOr(ErrorMetrics.RandomValues(_seed++, i.Value.Aggregate(1L, (a, d) => a * d)))));
        var expected = OrtOracle.Run(bytes, feeds);
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
        var actual = engine.Run(feeds.ToDictionary(f => f.Key, f => f.Value.Item2), feeds.ToDictionary(f => f.Key, f => f.Value.Value));
        var reference = new ReferenceExecutor(OnnxImporter.Import(OnnxModel.Load(path), "model")).Run(feeds);
        double worst = 0, worstReference = 0;
        foreach (var output in actual)
        {
            Assert.Equal(expected[output.Name].Shape, output.Shape);
            Assert.Equal(expected[output.Name].Shape, reference[output.Name].Shape);
            worst = Math.Max(worst, ErrorMetrics.RelativeL2(output.Data, expected[output.Name].Data));
            worstReference = Math.Max(worstReference, ErrorMetrics.RelativeL2(Array.ConvertAll(reference[output.Name].Data, v => (float)v), expected[output.Name].Data));
        }
        return (worst, worstReference);
    }

    /// <summary>Runs the engine as read back from its exported plan, so every layer's parameters cross the plan format.</summary>
    public bool RoundTripPlan { get; set; }

    /// <summary>Compares the engine and the reference executor with ONNX Runtime; fails above the operator tolerance, relative L2 ≤ 1e-5.</summary>
    public void AssertMatchesOnnxRuntime(int optimizationLevel = 1)
    {
        const double tolerance = 1e-5;
        var (engine, reference) = Compare(optimizationLevel);
        Assert.True(engine <= tolerance, $"engine: relative L2 error {engine:E2} > {tolerance:E0}");
        Assert.True(reference <= tolerance, $"reference executor: relative L2 error {reference:E2} > {tolerance:E0}");
    }

    /// <summary>Inputs for Div stay away from zero so the comparison measures the operator, not a pole.</summary>
    public bool AvoidZero { get; set; }

    private float[] PositiveOr(float[] values) => AvoidZero ? values.Select(v => v >= 0 ? v + 0.5f : v - 0.5f).ToArray() : values;
}
