using System.IO.Compression;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Weights;
using TrtEngine.Testing.Fixtures;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Core.Tests.Weights;

/// <summary>
/// Torch checkpoints as torch 2.11 saves them (tests/fixtures/checkpoints, written from tiny_mlp's second checkpoint by
/// tests/fixtures/export_torch_checkpoints.py): each must read as that checkpoint, bit for bit, and what cannot be read
/// must be refused with a message that says what the file is and what to do.
/// </summary>
public sealed class TorchCheckpointTests
{
    private static readonly IReadOnlyDictionary<string, WeightTensor> Expected =
        SafetensorsFile.Load(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt2.safetensors")).Tensors;

    private static string Fixture(string name) => Path.Combine(TestPaths.TorchCheckpoints, name);

    [Theory]
    [InlineData("tiny_mlp.pt")]               // torch.save(state_dict), pickle protocol 2
    [InlineData("tiny_mlp.p4.pt")]            // protocol 4: frames, memoize, stack globals
    [InlineData("tiny_mlp.p5.pt")]
    [InlineData("tiny_mlp.lightning.ckpt")]   // the state dict under "state_dict", beside optimizer momentum tensors
    [InlineData("tiny_mlp.views.pt")]         // a transposed weight, strided columns, biases sliced from one storage
    [InlineData("tiny_mlp.params.pt")]        // nn.Parameter objects (state_dict(keep_vars=True))
    [InlineData("tiny_mlp.f64.pt")]           // float64: float32 values widened and narrowed back exactly
    [InlineData("tiny_mlp.cuda.pt")]          // saved from the GPU: its storages' location is cuda:0
    public void A_checkpoint_reads_as_the_state_dict_it_saved(string file)
    {
        var tensors = TorchCheckpoint.Load(Fixture(file));

        AssertSameTensors(Expected, tensors);
        Assert.Equal(Expected.Keys, TorchCheckpoint.TensorNames(Fixture(file)));
    }

    [Fact]
    public void A_tied_weight_reads_under_both_its_names()
    {
        var tensors = TorchCheckpoint.Load(Fixture("tiny_mlp.tied.pt"));

        AssertSameTensors(Expected.Append(new("head.weight", Expected["4.weight"])).ToDictionary(), tensors);
        Assert.NotSame(tensors["4.weight"].Data, tensors["head.weight"].Data);
        // One tensor under two names: they share a tie, which no other tensor has.
        Assert.NotNull(tensors["4.weight"].Tie);
        Assert.Same(tensors["4.weight"].Tie, tensors["head.weight"].Tie);
        Assert.All(tensors.Values.Where(t => t.Name is not ("4.weight" or "head.weight")), t => Assert.Null(t.Tie));
    }

    /// <summary>
    /// A tie is one view of one storage under several names, as a module's tied parameter is saved (tensors pickled
    /// apart, one storage); other views of a storage (biases sliced from one, a transposed weight) are tensors of their own.
    /// </summary>
    [Fact]
    public void Names_that_show_one_storage_alike_share_a_tie_and_other_views_of_it_do_not()
    {
        Assert.All(TorchCheckpoint.Load(Fixture("tiny_mlp.views.pt")).Values, t => Assert.Null(t.Tie));

        using var dir = new TempDirectory();
        var values = Enumerable.Range(0, 64).Select(i => i * 0.25f).ToArray();
        string shared = dir.File("shared.pt");
        TorchCheckpointWriter.Write(shared, [("embed.weight", [8, 8], values), ("head.weight", [8, 8], values), ("flat", [64], values)], shareFirst: true);
        var tensors = TorchCheckpoint.Load(shared);
        Assert.NotNull(tensors["embed.weight"].Tie);
        Assert.Same(tensors["embed.weight"].Tie, tensors["head.weight"].Tie);
        Assert.Null(tensors["flat"].Tie);
        // Read as refit values, the two names keep their tie.
        var read = WeightSources.FromFile(shared);
        Assert.NotNull(read["head.weight"].Tie);
        Assert.Same(read["embed.weight"].Tie, read["head.weight"].Tie);
    }

    /// <summary>The 74 torch pattern modules' state dicts (float and int64 tensors, scalars, recurrent and embedding weights) as torch.save wrote them.</summary>
    public static TheoryData<string> PatternStateDicts() =>
        [.. Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "patterns"), "*.state.pt").Order(StringComparer.Ordinal).Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(PatternStateDicts))]
    public void A_modules_state_dict_reads_as_its_safetensors_copy(string file)
    {
        string folder = Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "patterns");
        var expected = SafetensorsFile.Load(Path.Combine(folder, file[..^".pt".Length] + ".safetensors")).Tensors;
        var tensors = TorchCheckpoint.Load(Path.Combine(folder, file));

        AssertSameTensors(expected, tensors);
        Assert.All(expected.Values, t => Assert.Equal(t.IsInteger, tensors[t.Name].IsInteger));
    }

    [Fact]
    public void A_data_parallel_checkpoint_keeps_its_module_prefix()
    {
        var tensors = TorchCheckpoint.Load(Fixture("tiny_mlp.ddp.pth"));

        AssertSameTensors(Expected.ToDictionary(e => "module." + e.Key, e => e.Value), tensors);
    }

    [Theory]
    [InlineData("f16", "F16")]
    [InlineData("bf16", "BF16")]
    public void Half_precision_checkpoints_read_as_the_values_torch_rounded_to(string name, string dtype)
    {
        var tensors = TorchCheckpoint.Load(Fixture($"tiny_mlp.{name}.pt"));

        AssertSameTensors(SafetensorsFile.Load(Fixture($"tiny_mlp.{name}.expected.safetensors")).Tensors, tensors);
        Assert.All(tensors.Values, t => Assert.Equal(dtype, t.SourceDType));
    }

    [Theory]
    [InlineData("tiny_mlp.legacy.pt", "a bare pickle, not the zip archive torch.save has written since torch 1.6")]
    [InlineData("tiny_mlp.script.pt", "TorchScript archive")]
    [InlineData("tiny_mlp.module.pt", "torch.nn.modules.container.Sequential object (a whole module: torch.save(model))")]
    public void What_is_not_a_state_dict_is_refused_with_what_to_do(string file, string expected)
    {
        var e = Assert.Throws<WeightFormatException>(() => TorchCheckpoint.Load(Fixture(file)));

        Assert.Contains(expected, e.Message);
        Assert.Contains(Fixture(file), e.Message);
        Assert.Contains("state_dict()", e.Message);
    }

    [Fact]
    public void A_file_that_is_no_zip_archive_is_refused()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("notes.pt"), "not a checkpoint");

        var e = Assert.Throws<WeightFormatException>(() => TorchCheckpoint.Load(dir.File("notes.pt")));

        Assert.Contains("not a torch checkpoint", e.Message);
    }

    [Fact]
    public void A_storage_entry_of_the_wrong_size_is_refused()
    {
        using var dir = new TempDirectory();
        string path = dir.File("short.pt");
        File.Copy(Fixture("tiny_mlp.pt"), path);
        using (var archive = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = archive.GetEntry("tiny_mlp/data/1")!;
            entry.Delete();
            using var stream = archive.CreateEntry("tiny_mlp/data/1", CompressionLevel.NoCompression).Open();
            stream.Write(new byte[500]);
        }

        var e = Assert.Throws<WeightFormatException>(() => TorchCheckpoint.Load(path));

        Assert.Contains("storage '1' holds 500 bytes; its 128 F32 values need 512", e.Message);
    }

    [Theory]
    [InlineData("tiny_mlp.pt")]
    [InlineData("tiny_mlp.lightning.ckpt")]
    [InlineData("tiny_mlp.bf16.pt")]
    public void An_engine_refitted_from_a_torch_checkpoint_runs_as_one_refitted_from_the_same_values(string file)
    {
        string model = Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");
        var settings = new ConversionSettings { UseCache = false };
        using var engine = EngineConverter.Convert(model, settings);
        using var expected = EngineConverter.Convert(model, settings);
        string values = file.Contains("bf16") ? Fixture("tiny_mlp.bf16.expected.safetensors") : Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt2.safetensors");
        expected.Refit(WeightSources.FromFile(values));
        var input = new Dictionary<string, float[]> { ["input"] = Enumerable.Range(0, 3 * 64).Select(i => MathF.Sin(i * 0.37f)).ToArray() };
        var shape = new Dictionary<string, int[]> { ["input"] = [3, 64] };
        var before = engine.Run(input, shape).Single().Data;

        // As Update-TrtEngineWeights -Path reads a file: into the weight pool's buffers, for the engine.
        using (var weights = WeightFile.Read(Fixture(file), engine)) engine.Refit(weights.Values);

        var after = engine.Run(input, shape).Single().Data;
        Assert.Equal(expected.Run(input, shape).Single().Data, after);
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void A_torch_checkpoint_binds_a_models_weights_at_conversion()
    {
        string model = Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");
        using var bound = EngineConverter.Convert(model, new ConversionSettings { UseCache = false, WeightsPath = Fixture("tiny_mlp.lightning.ckpt") });
        using var refitted = EngineConverter.Convert(model, new ConversionSettings { UseCache = false });
        refitted.Refit(WeightSources.FromFile(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt2.safetensors")));
        var input = new Dictionary<string, float[]> { ["input"] = Enumerable.Range(0, 64).Select(i => MathF.Cos(i * 0.21f)).ToArray() };

        Assert.Equal(refitted.Run(input).Single().Data, bound.Run(input).Single().Data);
    }

    /// <summary>
    /// A pickle of half a million keys (an 8 MB data.pkl) is refused as holding no tensors, in about the time its bytes
    /// take to read: keys were found by a scan of the dict, which would take hours here. Guarded against a hang, as the
    /// fuzz tests are, not timed.
    /// </summary>
    [Fact]
    public async Task A_pickle_of_many_keys_is_read_without_quadratic_work()
    {
        using var dir = new TempDirectory();
        string path = dir.File("many.pt");
        var pickle = new List<byte> { 0x80, 4, (byte)'}', (byte)'(' };
        for (int i = 0; i < 500_000; i++)
        {
            byte[] key = System.Text.Encoding.ASCII.GetBytes($"k{i}");
            pickle.Add(0x8c);
            pickle.Add((byte)key.Length);
            pickle.AddRange(key);
            pickle.AddRange([(byte)'K', 1]);
        }
        pickle.AddRange([(byte)'u', (byte)'.']);
        TorchCheckpointWriter.WritePickle(path, [.. pickle]);

        var load = Task.Run(() => TorchCheckpoint.Load(path));

        Assert.Same(load, await Task.WhenAny(load, Task.Delay(TimeSpan.FromMinutes(1))));
        var e = await Assert.ThrowsAsync<WeightFormatException>(() => load);
        Assert.Contains("holds no tensors by name", e.Message);
        Assert.Contains("'k0', 'k1'", e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 2, (byte)'K', 42, (byte)'.' }, "the checkpoint holds a number (42), not a dict of tensors by name")]
    [InlineData(new byte[] { 0x80, 2, (byte)']', (byte)'.' }, "the checkpoint holds a list, not a dict of tensors by name")]
    [InlineData(new byte[] { 0x80, 2, (byte)'}', (byte)'.' }, "the checkpoint holds an empty dict")]
    [InlineData(new byte[] { 0x80, 2, (byte)'}', 0x8c, 10, (byte)'s', (byte)'t', (byte)'a', (byte)'t', (byte)'e', (byte)'_', (byte)'d', (byte)'i', (byte)'c', (byte)'t', (byte)'}', (byte)'s', (byte)'.' },
        "the checkpoint's state dict under 'state_dict' holds no tensors")]
    public void A_checkpoint_without_a_state_dict_is_refused_saying_what_it_holds(byte[] pickle, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File("other.pt");
        TorchCheckpointWriter.WritePickle(path, pickle);

        var e = Assert.Throws<WeightFormatException>(() => TorchCheckpoint.Load(path));

        Assert.Contains(expected, e.Message);
        Assert.EndsWith("the model's state_dict() with torch.save", e.Message);
    }

    /// <summary>
    /// Names that are views of one storage (tied weights) read as the tensors they show; so many that their arrays would
    /// take far more than the file holds are refused before any is made (a QA helper's 16 MB file of 100 views of
    /// one 4-million-float storage took 1.7 GB before its refusal).
    /// </summary>
    [Fact]
    public void Views_repeating_one_storage_beyond_what_a_checkpoint_holds_are_refused_before_they_are_made()
    {
        using var dir = new TempDirectory();
        var values = Enumerable.Range(0, 1 << 18).Select(i => i * 0.5f).ToArray();
        string tied = dir.File("tied.pt"), repeated = dir.File("repeated.pt");
        TorchCheckpointWriter.Write(tied, [("embed.weight", [512, 512], values), ("head.weight", [512, 512], values)], shareFirst: true);
        TorchCheckpointWriter.Write(repeated, Enumerable.Range(0, 40).Select(i => ($"w{i}", new[] { 512, 512 }, values)), shareFirst: true);

        var both = TorchCheckpoint.Load(tied);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<WeightFormatException>(() => TorchCheckpoint.Load(repeated));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(values, both["head.weight"].Data);
        Assert.Contains("views repeating one storage beyond what a checkpoint holds", e.Message);
        Assert.InRange(allocated, 0, 4 << 20);
    }

    [Fact]
    public void A_checkpoint_named_for_the_other_format_reads_as_what_it_is()
    {
        using var dir = new TempDirectory();
        string torch = dir.File("named.safetensors"), safetensors = dir.File("named.pt"), unnamed = dir.File("weights.pkl");
        File.Copy(Fixture("tiny_mlp.pt"), torch);
        File.Copy(Path.Combine(TestPaths.ExampleModels, "tiny_mlp.ckpt2.safetensors"), safetensors);
        File.Copy(Fixture("tiny_mlp.pt"), unnamed);

        foreach (string path in new[] { torch, safetensors, unnamed })
        {
            AssertSameTensors(Expected, WeightSources.CheckpointTensors(path));
            Assert.Equal(Expected.Keys.Order(), WeightSources.FromFile(path).Keys.Order());
        }
    }

    [Fact]
    public void The_test_writer_writes_what_torch_writes()
    {
        using var dir = new TempDirectory();
        string path = dir.File("ckpt2.pt");
        TorchCheckpointWriter.Write(path, Expected.Values.Select(t => (t.Name, t.Shape, t.Data)));

        AssertSameTensors(TorchCheckpoint.Load(Fixture("tiny_mlp.pt")), TorchCheckpoint.Load(path));
    }

    /// <summary>
    /// A model large enough that a refit reads its file on two threads, each packing what it read while the other
    /// reads (MobileNetV3-Small: 2.5 million weights, 1×1 and depthwise convolutions with BatchNormalization folded in,
    /// squeeze-excitation GEMMs).
    /// </summary>
    [Fact]
    public void A_large_engine_refitted_from_a_torch_checkpoint_on_two_threads_equals_one_built_from_those_weights()
    {
        var model = SeededModel.Load(TestPaths.SeededModels, "mobilenet_v3_small");
        using var dir = new TempDirectory();
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = 2 };
        using var engine = EngineConverter.Convert(model.Materialize(dir.File("v1"), version: 1), settings);
        using var expected = EngineConverter.Convert(model.Materialize(dir.File("v2"), version: 2), settings);
        string checkpoint = dir.File("v2.pt");
        TorchCheckpointWriter.Write(checkpoint, model.Weights(version: 2));
        Assert.True(engine.Native.DerivedWeightBytes >= WeightFile.PrepareFromBytes);

        using (var weights = WeightFile.Read(checkpoint, engine)) engine.Refit(weights.Values);

        var plan = engine.Native.Plan;
        for (int i = 0; i < plan.Weights.Length; i++)
            Assert.True(engine.Native.CurrentWeights!.Buffers[i].AsSpan().SequenceEqual(expected.Native.CurrentWeights!.Buffers[i]), $"engine weight {plan.Weights[i].Name}");
    }

    private static void AssertSameTensors(IReadOnlyDictionary<string, WeightTensor> expected, IReadOnlyDictionary<string, WeightTensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, tensor) in expected)
        {
            Assert.Equal(tensor.Shape, actual[name].Shape);
            Assert.True(tensor.Data.AsSpan().SequenceEqual(actual[name].Data), $"values of {name}");
        }
    }
}
