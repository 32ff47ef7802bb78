using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>
/// Torch-TensorRT's "three identical subgraphs → one build, two hits", ported to ONNX: a block repeated three times
/// (a residual convolution pair), converted block by block as a partitioner would, and all three in one model.
/// </summary>
public sealed class RepeatedSubgraphCacheTests : IDisposable
{
    private const int Channels = 4, Side = 6;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ConversionSettings Settings => new() { CacheDirectory = _dir.File("cache"), OptimizationLevel = 0 };

    /// <summary>Appends block <paramref name="index"/> (conv → relu → conv + input) reading <paramref name="x"/>; returns its output.</summary>
    private static string AddBlock(OnnxModelBuilder m, string x, int index, int seed, string prefix)
    {
        string p = $"{prefix}{index}.";
        for (int c = 0; c < 2; c++)
        {
            m.AddInitializer($"{p}conv{c}.weight", ErrorMetrics.RandomValues(seed + 2 * c, Channels * Channels * 9), [Channels, Channels, 3, 3]);
            m.AddInitializer($"{p}conv{c}.bias", ErrorMetrics.RandomValues(seed + 2 * c + 1, Channels), [Channels]);
        }
        m.AddNode("Conv", [x, $"{p}conv0.weight", $"{p}conv0.bias"], [$"{p}a"], ("pads", new long[] { 1, 1, 1, 1 }));
        m.AddNode("Relu", [$"{p}a"], [$"{p}r"]);
        m.AddNode("Conv", [$"{p}r", $"{p}conv1.weight", $"{p}conv1.bias"], [$"{p}b"], ("pads", new long[] { 1, 1, 1, 1 }));
        m.AddNode("Add", [$"{p}b", x], [$"{p}out"]);
        return $"{p}out";
    }

    private string Save(string file, int blocks, int seed, string prefix = "block")
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, "batch", Channels, Side, Side);
        string y = "x";
        for (int i = 0; i < blocks; i++) y = AddBlock(m, y, blocks == 1 ? 0 : i, seed + 10 * i, prefix);
        m.AddNode("Identity", [y], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        string path = _dir.File(file);
        m.Save(path);
        return path;
    }

    private static void AssertMatchesOnnxRuntime(Engines.TrtEngine engine, string modelPath)
    {
        int[] shape = [2, Channels, Side, Side];
        float[] x = ErrorMetrics.RandomValues(99, 2 * Channels * Side * Side);
        var expected = OrtOracle.Run(File.ReadAllBytes(modelPath), new Dictionary<string, (int[] Shape, float[] Data)> { ["x"] = (shape, x) })["y"].Data;
        var actual = engine.Run(new Dictionary<string, float[]> { ["x"] = x }, new Dictionary<string, int[]> { ["x"] = shape })[0].Data;
        Assert.True(ErrorMetrics.RelativeL2(actual, expected) <= 1e-5);
    }

    [Fact]
    public void Three_identical_subgraphs_converted_one_by_one_build_once_and_hit_twice_each_with_its_own_weights()
    {
        // The same block's export with three weight sets (the state-dict names of one module class).
        string[] parts = [Save("part0.onnx", 1, seed: 100), Save("part1.onnx", 1, seed: 200), Save("part2.onnx", 1, seed: 300)];
        var engines = parts.Select(p => EngineConverter.Convert(p, Settings)).ToArray();

        Assert.Equal([false, true, true], engines.Select(e => e.FromCache));
        Assert.Single(engines.Select(e => e.CacheKey).Distinct());
        var summary = new DiskEngineStore(_dir.File("cache")).Summary();
        Assert.Equal(1, summary.Builds);
        Assert.Equal(2, summary.Hits);
        Assert.Equal(2, Assert.Single(new DiskEngineStore(_dir.File("cache")).List()).HitCount);
        for (int i = 0; i < parts.Length; i++) AssertMatchesOnnxRuntime(engines[i], parts[i]);
    }

    [Fact]
    public void Three_identical_subgraphs_in_one_model_keep_their_own_weights_and_key()
    {
        string three = Save("three.onnx", 3, seed: 100);
        var engine = EngineConverter.Convert(three, Settings);
        AssertMatchesOnnxRuntime(engine, three);
        Assert.Equal(12, engine.ModelWeightCount); // equal structure never merges weights

        // A fourth repetition, or the same three blocks with other weights, are told apart only by structure.
        Assert.NotEqual(engine.CacheKey, EngineConverter.Convert(Save("four.onnx", 4, seed: 100), Settings).CacheKey);
        var reweighted = EngineConverter.Convert(Save("three-other.onnx", 3, seed: 500), Settings);
        Assert.True(reweighted.FromCache);
        AssertMatchesOnnxRuntime(reweighted, _dir.File("three-other.onnx"));
    }
}
