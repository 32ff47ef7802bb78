using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;

namespace TrtEngine.Core.Tests.Runtime;

/// <summary>
/// GEMMs of many rows and moderate work are shared with awake workers or kept on the calling thread, as the builder
/// timed the engine both ways (<see cref="EnginePlan.ModerateGemmsShared"/>). tiny_mlp at batch 64 has two (64×64×128
/// and 64×128×96 multiply-adds); at batch 4 it has none.
/// </summary>
public sealed class ModerateGemmSharingTests
{
    private static NetworkDefinitionAt TinyMlp(int batch) =>
        new(OnnxImporter.Import(OnnxModel.Load(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx")), "tiny_mlp"),
            new Dictionary<string, ShapeProfile> { ["input"] = new([1, 64], [batch, 64], [64, 64]) });

    private sealed record NetworkDefinitionAt(Native.Network.NetworkDefinition Network, Dictionary<string, ShapeProfile> Profiles)
    {
        public Engine Build(BuilderConfig config, Action<string>? log = null) => EngineBuilder.Build(Network, config with { Profiles = Profiles }, log: log);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(50)] // only the second GEMM (50×128×96) is moderate; 50 rows end in a part block
    public void Sharing_moderate_GEMMs_or_not_computes_the_same_bits(int batch)
    {
        var engine = TinyMlp(64).Build(new BuilderConfig { OptimizationLevel = 0, Threads = 2 });
        float[] x = ErrorMetrics.RandomValues(batch, batch * 64);
        var results = new[] { true, false }.Select(shared =>
        {
            var context = engine.CreateExecutionContext(moderateGemmsShared: shared);
            context.SetInputShape(0, [batch, 64]);
            var y = new float[batch * 10];
            // Back to back, so the workers are awake when a shared context reaches its moderate GEMMs.
            for (int call = 0; call < 50; call++) context.Execute([x], [y]);
            Assert.True(context.RanModerateGemms);
            return y;
        }).ToArray();
        Assert.Equal(results[0], results[1]);
        Assert.Contains(results[0], v => v != 0);
    }

    [Fact]
    public void The_builder_times_the_choice_only_for_an_engine_with_moderate_GEMMs_and_the_plan_keeps_it()
    {
        foreach (var (batch, timed) in new[] { (64, true), (4, false) })
        {
            var log = new List<string>();
            var engine = TinyMlp(batch).Build(new BuilderConfig { OptimizationLevel = 1, Threads = 2 }, log.Add);
            Assert.Equal(timed, log.Any(line => line.StartsWith("Moderate GEMMs ", StringComparison.Ordinal)));
            if (!timed) Assert.True(engine.Plan.ModerateGemmsShared);
        }
        foreach (bool shared in new[] { true, false })
        {
            var log = new List<string>();
            var engine = TinyMlp(64).Build(new BuilderConfig { OptimizationLevel = 1, Threads = 2, ShareModerateGemms = shared }, log.Add);
            Assert.DoesNotContain(log, line => line.StartsWith("Moderate GEMMs ", StringComparison.Ordinal));
            Assert.Equal(shared, engine.Plan.ModerateGemmsShared);
            Assert.Equal(shared, Engine.Deserialize(engine.Serialize(includeWeights: false)).Plan.ModerateGemmsShared);
        }
        // Level 0 times nothing and shares, as before the choice was timed; so does an engine of one thread.
        Assert.True(TinyMlp(64).Build(new BuilderConfig { OptimizationLevel = 0, Threads = 2 }).Plan.ModerateGemmsShared);
        var single = new List<string>();
        Assert.True(TinyMlp(64).Build(new BuilderConfig { OptimizationLevel = 1, Threads = 1 }, single.Add).Plan.ModerateGemmsShared);
        Assert.DoesNotContain(single, line => line.StartsWith("Moderate GEMMs ", StringComparison.Ordinal));
    }
}
