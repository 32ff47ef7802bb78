using TrtEngine.Core.Refit;
using TrtEngine.Native.Refit;
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
