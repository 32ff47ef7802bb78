using TrtEngine.Core.Conversion;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Refit;
using TrtEngine.Testing.Fixtures;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// A refit from a caller's own arrays copies them in the recipes' pass: a packing recipe copies each part of its
/// weight just before it packs it (large weights in several parts on several threads), an identity copies its
/// value as its own evaluation. The engine must end up exactly as a build from those values, holding copies that
/// are its own.
/// </summary>
public sealed class CallerArrayRefitTests
{
    [Theory]
    [InlineData("resnet18")]           // 3×3 convolutions of up to 2.4 million floats, packed in parts
    [InlineData("shufflenet_v2_x1_0")] // a 1024×1000 classifier whose engine weight is the value itself
    public void A_refit_from_a_callers_arrays_equals_a_build_from_them_and_keeps_copies_of_its_own(string name)
    {
        var model = SeededModel.Load(TestPaths.SeededModels, name);
        using var dir = new TempDirectory();
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0 };
        var engine = EngineConverter.Convert(model.Materialize(dir.File("v1"), version: 1), settings);
        var expected = EngineConverter.Convert(model.Materialize(dir.File("v2"), version: 2), settings);
        var callers = model.Weights(version: 2).ToDictionary(w => w.Name, w => new WeightValue(w.Shape, w.Data));
        var plan = engine.Native.Plan;
        Assert.Contains(plan.Weights, w => RecipeParts(w) > 1 && w.Recipe.Kind != Native.Plan.RecipeKind.Identity);

        engine.Refit(callers);

        var state = engine.Native.CurrentState;
        for (int i = 0; i < plan.Weights.Length; i++)
            Assert.True(state.Weights!.Buffers[i].AsSpan().SequenceEqual(expected.Native.CurrentWeights!.Buffers[i]), $"engine weight {plan.Weights[i].Name}");
        foreach (var (weight, value) in callers)
        {
            Assert.True(state.ModelValues[weight].AsSpan().SequenceEqual(value.Data), $"model value {weight}");
            Assert.NotSame(value.Data, state.ModelValues[weight]);
        }
        // The caller reuses its arrays: the engine's outputs do not move.
        var want = expected.Run(SeededInput(model), InputShape(model));
        foreach (var value in callers.Values) Array.Fill(value.Data, float.NaN);
        var got = engine.Run(SeededInput(model), InputShape(model));
        Assert.Equal(want.Single().Data, got.Single().Data);
    }

    [Fact]
    public void A_partial_refit_of_one_convolution_from_a_callers_array_refolds_it_with_the_kept_batch_norm()
    {
        var model = SeededModel.Load(TestPaths.SeededModels, "shufflenet_v2_x1_0");
        using var dir = new TempDirectory();
        string v1 = model.Materialize(dir.File("v1"), version: 1);
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0 };
        var engine = EngineConverter.Convert(v1, settings);
        var expected = EngineConverter.Convert(v1, settings);
        // The largest convolution weight with a BatchNormalization folded in: its scale and variance stay the engine's.
        var folded = engine.Native.Plan.Weights.Where(w => w.Recipe.Kind == Native.Plan.RecipeKind.PackConv && w.Recipe.Sources.Length == 3).MaxBy(w => w.Length)!;
        string name = folded.Recipe.Sources[0];
        var (_, shape, data) = model.Weights(version: 2).Single(w => w.Name == name);

        engine.Refit(new Dictionary<string, WeightValue> { [name] = new WeightValue(shape, data) }, partial: true);
        var whole = WeightSources.FromFile(v1).ToDictionary(e => e.Key, e => e.Value);
        whole[name] = new WeightValue(shape, (float[])data.Clone(), Immutable: true);
        expected.Refit(whole);

        for (int i = 0; i < engine.Native.Plan.Weights.Length; i++)
            Assert.True(engine.Native.CurrentWeights!.Buffers[i].AsSpan().SequenceEqual(expected.Native.CurrentWeights!.Buffers[i]), $"engine weight {engine.Native.Plan.Weights[i].Name}");
    }

    [Fact]
    public void Refits_in_a_loop_from_a_callers_arrays_allocate_only_the_new_state()
    {
        // tiny_mlp: nine model weights, six engine weights. Its state and the refit's result take about 640 bytes; a refit
        // that allocated a closure for each buffer it checked for holders (session 47's) took 1,200.
        string path = Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");
        var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false });
        var sets = new[] { WeightSources.FromFile(path), WeightSources.FromFile(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt2.safetensors")) }
            .Select(w => w.ToDictionary(e => e.Key, e => e.Value with { Immutable = false })).ToArray();
        for (int i = 0; i < 200; i++) engine.Refit(sets[i % 2]);

        const int Refits = 1000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Refits; i++) engine.Refit(sets[i % 2]);
        long perRefit = (GC.GetAllocatedBytesForCurrentThread() - before) / Refits;

        Assert.True(perRefit < 900, $"{perRefit} bytes allocated a refit");
        Assert.True(engine.Native.CurrentState.ModelValues["0.weight"].AsSpan().SequenceEqual(sets[1]["0.weight"].Data));
    }

    private static int RecipeParts(Native.Plan.EngineWeight weight) => Native.Plan.RecipeEvaluation.Parts(weight).Length;

    private static Dictionary<string, float[]> SeededInput(SeededModel model) => new() { [model.InputName] = model.Input };

    private static Dictionary<string, int[]> InputShape(SeededModel model) => new() { [model.InputName] = model.InputShape };
}
