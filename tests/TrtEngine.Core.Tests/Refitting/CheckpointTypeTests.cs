using TrtEngine.Core.Refit;
using TrtEngine.Native.Refit;
using TrtEngine.Testing.Fixtures;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Core.Tests.Refitting;

/// <summary>
/// The element types of a checkpoint's tensors: an engine's weights are float32, so floating-point tensors of any
/// width refit them, integers under a weight's name are refused as mismatched (with the engine left as it was), and
/// integers under other names (a torch state dict's BatchNorm num_batches_tracked) are not weights and are left out.
/// </summary>
public sealed class CheckpointTypeTests
{
    private static (string Name, int[] Shape, float[] Data, string DType)[] Tensors(string model, Func<string, string> dtype) =>
        WeightSources.FromFile(model).Select(w => (w.Key, w.Value.Shape, w.Value.Data, dtype(w.Key))).ToArray();

    private static RefitResult RefitFrom(Engines.TrtEngine engine, string checkpoint)
    {
        using var file = WeightFile.Read(checkpoint, engine);
        return engine.Refit(file.Values);
    }

    [Fact]
    public void Integers_under_a_weight_s_name_are_refused_with_every_other_problem_and_the_engine_is_left_as_it_was()
    {
        using var dir = new TempDirectory();
        string v1 = SmallCnn.Write(dir, 10), v2 = SmallCnn.Write(dir, 20), checkpoint = dir.File("ints.safetensors");
        var engine = SmallCnn.Build(v1);
        float[] before = SmallCnn.Run(engine);
        // Two weights stored as integers, and one float weight left out: one error names all three.
        var tensors = Tensors(v2, name => name switch { "wg" => "I64", "mean" => "I32", _ => "F32" }).Where(t => t.Name != "bg");
        SafetensorsWriter.Write(checkpoint, tensors);

        var refused = Assert.Throws<RefitException>(() => RefitFrom(engine, checkpoint));
        Assert.Equal(["mean", "wg"], refused.Check.Mismatched.Select(m => m.Name).Order(StringComparer.Ordinal));
        Assert.Contains(refused.Check.Mismatched, m => m.Name == "wg" && m.Problem.Contains("integers (I64)", StringComparison.Ordinal));
        Assert.Equal(["bg"], refused.Check.Missing);
        Assert.Equal(before, SmallCnn.Run(engine));
    }

    [Fact]
    public void Integer_tensors_that_are_not_weights_are_left_out_and_float_ones_are_still_extra()
    {
        using var dir = new TempDirectory();
        string v1 = SmallCnn.Write(dir, 10), v2 = SmallCnn.Write(dir, 20), checkpoint = dir.File("state_dict.safetensors");
        var engine = SmallCnn.Build(v1);
        // As torch saves a model with BatchNorm: its step counter beside the weights, an int64 scalar.
        SafetensorsWriter.Write(checkpoint, [.. Tensors(v2, _ => "F32"), ("bn.num_batches_tracked", [], [1200f], "I64")]);

        using (var file = WeightFile.Read(checkpoint, engine))
        {
            var check = engine.CheckRefit(file.Values, partial: false);
            Assert.True(check.IsValid, check.Describe());
            Assert.Equal(["bn.num_batches_tracked"], check.Ignored);
            engine.Refit(file.Values);
        }
        Assert.True(ErrorMetrics.RelativeL2(SmallCnn.Run(SmallCnn.Build(v2)), SmallCnn.Run(engine)) < 1e-6);

        float[] before = SmallCnn.Run(engine);
        SafetensorsWriter.Write(checkpoint, [.. Tensors(v1, _ => "F32"), ("bn.num_batches_tracked", [], [1200f], "I64"), ("head.scale", [1], [2f], "F32")]);
        var refused = Assert.Throws<RefitException>(() => RefitFrom(engine, checkpoint));
        Assert.Equal(["head.scale"], refused.Check.Extra);
        Assert.Contains("Not weights of this engine 1: head.scale (rename them to this engine's weights with -NameMap, or leave them out: -NameMap @{ 'head.scale' = $null })",
            refused.Check.Describe());
        Assert.Equal(before, SmallCnn.Run(engine));
    }

    /// <summary>
    /// A partial refit from a checkpoint that holds none of the engine's weights (a state dict's counters only: the wrong
    /// file, or a name map that renamed nothing) would change nothing, and is refused rather than passing as a refit;
    /// the result of one that does refit counts the engine's weights given, not the names left out.
    /// </summary>
    [Fact]
    public void A_partial_refit_given_none_of_the_engine_s_weights_is_refused_and_results_count_only_its_weights()
    {
        using var dir = new TempDirectory();
        string v1 = SmallCnn.Write(dir, 10), v2 = SmallCnn.Write(dir, 20), counters = dir.File("counters.safetensors"), state = dir.File("state_dict.safetensors");
        var engine = SmallCnn.Build(v1);
        float[] before = SmallCnn.Run(engine);
        SafetensorsWriter.Write(counters, [("bn.num_batches_tracked", [], [1200f], "I64")]);

        using (var file = WeightFile.Read(counters, engine))
        {
            var check = engine.CheckRefit(file.Values, partial: true);
            Assert.True(check.SuppliesNone);
            Assert.False(check.IsValid);
            Assert.Contains("The source gives none of this engine's weights (only a tensor that is not a weight), so this partial refit would change nothing", check.Describe());
            var refused = Assert.Throws<RefitException>(() => engine.Refit(file.Values, partial: true));
            Assert.True(refused.Check.SuppliesNone);
        }
        Assert.Equal(before, SmallCnn.Run(engine));

        SafetensorsWriter.Write(state, [.. Tensors(v2, _ => "F32"), ("bn.num_batches_tracked", [], [1200f], "I64")]);
        using (var file = WeightFile.Read(state, engine))
        {
            var result = engine.Refit(file.Values);
            Assert.Equal(file.Values.Count - 1, result.ModelWeights);
            Assert.Equal("; 1 integer tensor is not a weight and is left out (bn.num_batches_tracked)", engine.CheckRefit(file.Values, partial: false).LeftOut());
        }
    }

    /// <summary>
    /// A torch checkpoint of a module with a tied weight holds it under each of its names; the engine has one of them.
    /// The other shows the same tensor, so it is left out (and said so), where a name that is merely unknown is refused;
    /// given without the name the engine has, it is unknown too. tests/fixtures/checkpoints/tiny_mlp.tied.pt holds the
    /// second checkpoint with head.weight tied to 4.weight.
    /// </summary>
    [Fact]
    public void A_tied_weight_s_other_name_is_left_out_when_the_weight_is_given()
    {
        string onnx = Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");
        var engine = Conversion.EngineConverter.Convert(onnx, new Conversion.ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var want = Conversion.EngineConverter.Convert(onnx, new Conversion.ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        RefitFrom(want, Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt2.safetensors"));
        string tied = Path.Combine(TestPaths.TorchCheckpoints, "tiny_mlp.tied.pt");

        using (var file = WeightFile.Read(tied, engine))
        {
            var check = engine.CheckRefit(file.Values, partial: false);
            Assert.True(check.IsValid, check.Describe());
            Assert.Equal(["head.weight"], check.Tied);
            Assert.Empty(check.Extra);
            engine.Refit(file.Values);
        }
        var x = new Dictionary<string, float[]> { ["input"] = ErrorMetrics.RandomValues(5, 2 * 64) };
        Assert.Equal(want.Run(x)[0].Data, engine.Run(x)[0].Data);

        float[] before = engine.Run(x)[0].Data;
        var alone = WeightSources.FromFile(tied).Where(w => w.Key != "4.weight").ToDictionary();
        var refused = Assert.Throws<RefitException>(() => engine.Refit(alone, partial: true));
        Assert.Equal(["head.weight"], refused.Check.Extra);
        Assert.Equal(before, engine.Run(x)[0].Data);
    }

    /// <summary>
    /// A data-parallel checkpoint (every name under "module.") is refused with the -NameMap that takes the prefix off:
    /// a QA helper found the refusal pointing to -Partial only, which refuses the same names again.
    /// </summary>
    [Fact]
    public void Names_under_a_prefix_are_refused_with_the_name_map_that_takes_it_off()
    {
        using var dir = new TempDirectory();
        string v1 = SmallCnn.Write(dir, 10), checkpoint = dir.File("ddp.safetensors");
        var engine = SmallCnn.Build(v1);
        SafetensorsWriter.Write(checkpoint, Tensors(v1, _ => "F32").Select(t => ("module." + t.Name, t.Shape, t.Data, t.DType)));

        var refused = Assert.Throws<RefitException>(() => RefitFrom(engine, checkpoint));

        Assert.Contains(@"without 'module.' they are this engine's: -NameMap { $_ -replace '^module\.', '' } takes it off", refused.Check.Describe());
        // Found by a QA helper (session 50): a partial refit misses nothing, so it advised leaving the names out, which
        // leaves nothing to refit; the weights it keeps are the ones the prefix hides.
        using (var file = WeightFile.Read(checkpoint, engine))
        {
            var partial = Assert.Throws<RefitException>(() => engine.Refit(file.Values, partial: true));
            Assert.Contains(@"-NameMap { $_ -replace '^module\.', '' } takes it off", partial.Check.Describe());
            var alone = file.Values.Take(1).ToDictionary();
            var renamed = Assert.Throws<RefitException>(() => engine.Refit(alone.ToDictionary(e => "renamed", e => e.Value), partial: true));
            Assert.Contains("rename them to this engine's weights with -NameMap, such as -NameMap @{ 'renamed' = '<weight>' } (Get-TrtEngineInfo lists them)", renamed.Check.Describe());
        }
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Half_width_checkpoints_refit_to_the_values_they_hold(string dtype)
    {
        using var dir = new TempDirectory();
        string v1 = SmallCnn.Write(dir, 10), v2 = SmallCnn.Write(dir, 20), checkpoint = dir.File($"half.{dtype}.safetensors");
        var engine = SmallCnn.Build(v1);
        SafetensorsWriter.Write(checkpoint, Tensors(v2, _ => dtype));
        RefitFrom(engine, checkpoint);

        // The same values widened exactly: a refit from float32 arrays holding them gives the same bits.
        var widened = new Dictionary<string, WeightValue>(WeightSources.FromFile(checkpoint));
        Assert.All(widened.Values, w => Assert.Null(w.IntegerType));
        var reference = SmallCnn.Build(v1);
        reference.Refit(widened.ToDictionary(w => w.Key, w => new WeightValue(w.Value.Shape, (float[])w.Value.Data.Clone())));
        Assert.Equal(SmallCnn.Run(reference), SmallCnn.Run(engine));
        Assert.True(ErrorMetrics.RelativeL2(SmallCnn.Run(SmallCnn.Build(v2)), SmallCnn.Run(engine)) < 1e-2);
    }
}
