using TrtEngine.Core.Conversion;
using TrtEngine.Core.Refit;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Core.Tests.Models;

/// <summary>MobileNetV2 and SqueezeNet from ../shared/models against torch: built, refitted v1→v2 from ONNX and from safetensors, and back.</summary>
public sealed class CnnModelTests
{
    private const double Tolerance = 1e-4;

    private static void AssertMatches(Engines.TrtEngine engine, string referenceFile) => TorchAssert.Matches(engine, referenceFile, Tolerance);

    [SkippableTheory]
    [InlineData("mobilenet_v2")]
    [InlineData("squeezenet1_1")]
    public void Built_from_v1_matches_torch_and_refits_to_v2_from_onnx_and_safetensors(string model)
    {
        var engine = EngineConverter.Convert(TestPaths.SharedModel($"{model}_v1.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        AssertMatches(engine, $"{model}_v1.ref.json.gz");

        engine.Refit(WeightSources.FromFile(TestPaths.SharedModel($"{model}_v2.onnx")));
        AssertMatches(engine, $"{model}_v2.ref.json.gz");

        // A checkpoint of the parameters alone (no Constant-node values), as a training job would write it.
        using var dir = new TempDirectory();
        string checkpoint = dir.File("v1.safetensors");
        var v1 = WeightSources.FromFile(TestPaths.SharedModel($"{model}_v1.onnx"));
        SafetensorsWriter.Write(checkpoint, v1.Where(w => !w.Key.StartsWith('/')).Select(w => (w.Key, w.Value.Shape, w.Value.Data)));
        engine.Refit(WeightSources.FromFile(checkpoint));
        AssertMatches(engine, $"{model}_v1.ref.json.gz");
    }
}
