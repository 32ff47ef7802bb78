using TrtEngine.Core.Conversion;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Layers;
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
        // The stems run fused (the checks below cover them): SqueezeNet's with the pool after it, MobileNetV2's in its first block.
        var layers = engine.Native.Plan.Layers;
        if (model == "squeezenet1_1") Assert.Single(layers.OfType<FusedConvPoolLayer>());
        else Assert.Contains(layers.OfType<FusedInvertedResidualLayer>(), l => l.Unfolds);
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

    [SkippableFact]
    public void A_cache_hit_for_v2_after_building_v1_matches_v2_and_stays_refittable()
    {
        using var dir = new TempDirectory();
        var settings = new ConversionSettings { CacheDirectory = dir.File("cache"), OptimizationLevel = 0 };
        var v1 = EngineConverter.Convert(TestPaths.SharedModel("mobilenet_v2_v1.onnx"), settings);
        Assert.False(v1.FromCache);
        var entry = Assert.Single(new TrtEngine.Core.Cache.DiskEngineStore(dir.File("cache")).List());
        Assert.True(entry.SizeBytes * 100 < v1.WeightBytes, $"entry {entry.SizeBytes} bytes, weights {v1.WeightBytes}");

        var v2 = EngineConverter.Convert(TestPaths.SharedModel("mobilenet_v2_v2.onnx"), settings);
        Assert.True(v2.FromCache);
        AssertMatches(v2, "mobilenet_v2_v2.ref.json.gz");
        v2.Refit(WeightSources.FromFile(TestPaths.SharedModel("mobilenet_v2_v1.onnx")));
        AssertMatches(v2, "mobilenet_v2_v1.ref.json.gz");
    }
}
