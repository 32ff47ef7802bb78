using TrtEngine.Core.Conversion;
using TrtEngine.Core.Refit;

namespace TrtEngine.Core.Tests.Models;

/// <summary>The MLP models of ../shared/models against torch's outputs: built, refitted, and with weights from a file.</summary>
public sealed class MlpModelTests
{
    private static readonly ConversionSettings NoCache = new() { UseCache = false, OptimizationLevel = 1 };

    private static void AssertMatches(Engines.TrtEngine engine, string referenceFile) => TorchAssert.Matches(engine, referenceFile, 1e-5);

    [SkippableFact]
    public void Mlp_matches_torch()
    {
        var engine = EngineConverter.Convert(TestPaths.SharedModel("mlp_v1.onnx"), NoCache);
        AssertMatches(engine, "mlp_v1.ref.json.gz");
    }

    [SkippableFact]
    public void Mlp_v1_refitted_with_v2_matches_v2()
    {
        var engine = EngineConverter.Convert(TestPaths.SharedModel("mlp_v1.onnx"), NoCache);
        engine.Refit(WeightSources.FromFile(TestPaths.SharedModel("mlp_v2.onnx")));
        AssertMatches(engine, "mlp_v2.ref.json.gz");
        engine.Refit(WeightSources.FromFile(TestPaths.SharedModel("mlp_v1.onnx")));
        AssertMatches(engine, "mlp_v1.ref.json.gz");
        Assert.Equal(2, engine.RefitCount);
    }

    [SkippableFact]
    public void Weightless_mlp_with_safetensors_matches_torch()
    {
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0, WeightsPath = TestPaths.SharedModel("mlp_v1_weightless.weights.safetensors") };
        var engine = EngineConverter.Convert(TestPaths.SharedModel("mlp_v1_weightless.onnx"), settings);
        AssertMatches(engine, "mlp_v1_weightless.ref.json.gz");
    }
}
