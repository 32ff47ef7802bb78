using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Models;

/// <summary>
/// Small torch modules exported with a dynamic batch at opsets 14 and 17, and by the dynamo-based exporter at opsets 18
/// and 20 (NAME_d18, NAME_d20; tests/fixtures/patterns, written by tests/fixtures/export_torch_patterns.py): the patterns real exports write around the batch (views that read it
/// through Shape, flips, GroupNorm, F.normalize, pixel_shuffle, Conv1d, masks, …; text_* models of token ids), each
/// converted with its batch left dynamic and run at batches 1 and 3 against ONNX Runtime.
/// </summary>
public sealed class TorchExportPatternTests
{
    private static string Folder => Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "patterns");

    public static TheoryData<string> Patterns()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(Folder, "*.onnx").Order(StringComparer.Ordinal))
            if (!Path.GetFileName(path).StartsWith("std_var_", StringComparison.Ordinal))
                data.Add(Path.GetFileNameWithoutExtension(path));
        return data;
    }

    /// <summary>
    /// An unoptimized dynamo export keeps its parameters' state-dict names: the module's own checkpoint refits it in
    /// full (every weight named, none missing or extra) to the outputs it had, and a checkpoint with one value changed
    /// changes them. The optimized exports fold and merge parameters into anonymous constants (val_…), which no
    /// checkpoint names.
    /// </summary>
    public static TheoryData<string> Checkpointed()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(Folder, "*.state.safetensors").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path)[..^".state.safetensors".Length];
            if (!name.StartsWith("std_var", StringComparison.Ordinal)) data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Checkpointed))]
    public void An_unoptimized_dynamo_export_refits_from_its_state_dict(string name)
    {
        string path = Path.Combine(Folder, name + "_d20raw.onnx");
        using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var input = engine.Inputs[0];
        int[] shape = [2, .. input.Shape[1..].Select(d => d >= 0 ? d : 9)];
        float[] x = input.DataType == "Int64" ? TokenIds(2, shape[1]) : ErrorMetrics.RandomValues(2, shape.Aggregate(1, (a, d) => a * d));
        var feed = new Dictionary<string, float[]> { [input.Name] = x };
        var shapes = new Dictionary<string, int[]> { [input.Name] = shape };
        float[] before = engine.Run(feed, shapes)[0].Data;
        var checkpoint = Refit.WeightSources.FromFile(Path.Combine(Folder, name + ".state.safetensors"));
        // Not partial: a weight the checkpoint does not name, or a name the engine lacks, would be refused. The same state
        // dict as torch.save writes it (NAME.state.pt) is the same refit.
        foreach (var source in new[] { checkpoint, Refit.WeightSources.FromFile(Path.Combine(Folder, name + ".state.pt")) })
        {
            var result = engine.Refit(source);
            Assert.Empty(result.ChangedModelWeights);
            Assert.Equal(before, engine.Run(feed, shapes)[0].Data);
        }

        var (changedName, weight) = checkpoint.First(w => w.Value.IntegerType is null && w.Value.Data.Length > 1 && engine.Native.Plan.ModelWeightIndex.ContainsKey(w.Key));
        var changed = checkpoint.ToDictionary(w => w.Key, w => w.Key == changedName ? weight with { Data = Array.ConvertAll(weight.Data, v => v * 1.5f + 0.25f) } : w.Value);
        // That weight, and what the engine computes from it (a 1-D convolution's weight viewed as 2-D).
        var plan = engine.Native.Plan;
        var reported = engine.Refit(changed).ChangedModelWeights;
        Assert.Contains(changedName, reported);
        Assert.All(reported.Where(n => n != changedName), n => Assert.Equal(Native.Network.WeightKind.Computed, plan.ModelWeights[plan.ModelWeightIndex[n]].Kind));
        Assert.NotEqual(before, engine.Run(feed, shapes)[0].Data);
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Converts_with_a_dynamic_batch_and_matches_onnx_runtime(string name)
    {
        string path = Path.Combine(Folder, name + ".onnx");
        using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        AssertMatches(engine, path, 1, 3);
    }

    /// <summary>Models of this session's operators built as users build them (the default level: tactics timed, layouts chosen).</summary>
    [Theory]
    [InlineData("text_encoder_o17")]
    [InlineData("text_lstm_two_layers_o17")]
    [InlineData("text_gru_bidirectional_o17")]
    [InlineData("decoder_layer_o17")]
    [InlineData("topk_o17")]
    [InlineData("upsample_bicubic_o17")]
    public void Converts_at_the_default_level_and_matches_onnx_runtime(string name)
    {
        string path = Path.Combine(Folder, name + ".onnx");
        using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false });
        AssertMatches(engine, path, 1, 3);
    }

    /// <summary>x.std() over every dim counts the batch: refused while the batch is dynamic, converted once it is fixed.</summary>
    [Theory]
    [InlineData("std_var_o14")]
    [InlineData("std_var_o17")]
    [InlineData("std_var_d18")]
    [InlineData("std_var_d20")]
    [InlineData("std_var_d20raw")]
    public void A_statistic_over_the_batch_asks_for_a_fixed_batch_and_converts_with_one(string name)
    {
        string path = Path.Combine(Folder, name + ".onnx");
        var refused = Assert.Throws<ModelImportException>(() => EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 }));
        Assert.Contains("-InputShape", refused.Message, StringComparison.Ordinal);
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0, InputShapes = new Dictionary<string, int[]> { ["x"] = [3, 3, 10, 10] } };
        using var engine = EngineConverter.Convert(path, settings);
        AssertMatches(engine, path, 3);
    }

    private static void AssertMatches(Engines.TrtEngine engine, string path, params int[] batches)
    {
        var input = engine.Inputs[0];
        foreach (int batch in batches)
        {
            // A dynamic sequence (text_dynamic_*) at a length of its own for each batch.
            int[] shape = [batch, .. input.Shape[1..].Select(d => d >= 0 ? d : 5 + 2 * batch)];
            float[] x = input.DataType == "Int64" ? TokenIds(batch, shape[1]) : ErrorMetrics.RandomValues(batch, shape.Aggregate(1, (a, d) => a * d));
            var ours = engine.Run(new Dictionary<string, float[]> { [input.Name] = x }, new Dictionary<string, int[]> { [input.Name] = shape })[0];
            var expected = OrtOracle.Run(path, new Dictionary<string, (int[] Shape, float[] Data)> { [input.Name] = (shape, x) })["y"];
            Assert.Equal(expected.Shape, ours.Shape);
            Assert.True(ErrorMetrics.RelativeL2(ours.Data, expected.Data) <= 1e-5, $"batch {batch}: relative L2 {ErrorMetrics.RelativeL2(ours.Data, expected.Data):E2}");
        }
    }

    /// <summary>Token ids of a 50-word vocabulary, about a quarter of them padding (0), never the first of a sequence (a sequence all padding has no keys to attend to).</summary>
    private static float[] TokenIds(int batch, int length)
    {
        var random = new Random(batch);
        return Enumerable.Range(0, batch * length).Select(i => i % length == 0 || random.Next(4) > 0 ? (float)random.Next(1, 50) : 0f).ToArray();
    }
}
