using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>
/// A conversion loads the entry its model and settings resolved to last time before it parses the model, and packs
/// the weights for it as they are parsed; the entry serves only when the imported model's key is its key, so a guess
/// that is wrong, missing, stale or damaged costs time and changes nothing else.
/// </summary>
public sealed class GuessedEntryTests : IDisposable
{
    private const string Prepared = "packing begun as the model was parsed", LoadedBeside = "loaded beside the parse";
    private static readonly float[] Input = ErrorMetrics.RandomValues(11, 32 * 6 * 6);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir.File("cache");

    // Two threads, so the engine can read on one while it packs on the other, whatever the machine has.
    private ConversionSettings Settings => new() { CacheDirectory = Cache, OptimizationLevel = 0, Threads = 2 };

    /// <summary>
    /// Conv + BatchNormalization (folded), Relu, a second Conv (<paramref name="channels"/> wide), GlobalAveragePool
    /// and a Gemm to 4,000 outputs: over 4 MB of engine weights, enough for a hit to prepare its refit.
    /// </summary>
    /// <param name="readsBatch">A dynamic batch that shape arithmetic reads (the flatten written as a Reshape to [N, −1]):
    /// the import needs a fixed input shape.</param>
    private static void WriteModel(string path, int seed, int channels = 256, (string Name, float Value)? poison = null, string input = "x", bool readsBatch = false)
    {
        var model = new OnnxModelBuilder();
        if (readsBatch) model.AddInput(input, OnnxDataType.Float, "N", 32, 6, 6);
        else model.AddInput(input, OnnxDataType.Float, 1, 32, 6, 6);
        float[] Values(string name, float[] values)
        {
            if (poison is { } p && p.Name == name) values[3] = p.Value;
            return values;
        }
        model.AddInitializer("w1", Values("w1", ErrorMetrics.RandomValues(seed, 64 * 32 * 9)), [64, 32, 3, 3]);
        foreach (var (parameter, offset) in new[] { ("gamma", 0f), ("beta", 0f), ("mean", 0f), ("var", 1.5f) })
            model.AddInitializer(parameter, Values(parameter, ErrorMetrics.RandomValues(seed + parameter.Length, 64).Select(v => v + offset).ToArray()), [64]);
        model.AddInitializer("w2", ErrorMetrics.RandomValues(seed + 5, channels * 64 * 9), [channels, 64, 3, 3]);
        model.AddInitializer("wg", ErrorMetrics.RandomValues(seed + 6, 4000 * channels), [4000, channels]);
        model.AddNode("Conv", [input, "w1"], ["c1"], ("pads", new long[] { 1, 1, 1, 1 }));
        model.AddNode("BatchNormalization", ["c1", "gamma", "beta", "mean", "var"], ["n1"]);
        model.AddNode("Relu", ["n1"], ["r1"]);
        model.AddNode("Conv", ["r1", "w2"], ["c2"]);
        model.AddNode("GlobalAveragePool", ["c2"], ["g"]);
        if (readsBatch)
        {
            model.AddInitializer("first", new long[] { 0 }, [1]);
            model.AddInitializer("rest", new long[] { -1 }, [1]);
            model.AddNode("Shape", [input], ["s"]);
            model.AddNode("Gather", ["s", "first"], ["n"]);
            model.AddNode("Concat", ["n", "rest"], ["shape"], ("axis", 0L));
            model.AddNode("Reshape", ["g", "shape"], ["f"]);
        }
        else model.AddNode("Flatten", ["g"], ["f"]);
        model.AddNode("Gemm", ["f", "wg"], ["y"], ("transB", 1L));
        model.AddOutput("y", OnnxDataType.Float);
        model.Save(path);
    }

    private static float[] Run(Engines.TrtEngine engine) => engine.Run(new Dictionary<string, float[]> { ["x"] = Input })[0].Data;

    private (Engines.TrtEngine Engine, List<string> Messages) Convert(string path, ConversionSettings? settings = null)
    {
        var events = new RecordingEvents();
        return (EngineConverter.Convert(path, settings ?? Settings, events), events.Messages);
    }

    /// <summary>
    /// A conversion of the large test model that hits: on the hinted entry, its refit prepared as the model was parsed,
    /// when <paramref name="prepared"/> (on a machine of one core, which prepares nothing, the hinted entry is only loaded
    /// beside the parse); else a plain hit, with no entry guessed.
    /// </summary>
    private Engines.TrtEngine Hit(string path, bool prepared, ConversionSettings? settings = null)
    {
        var (hit, messages) = Convert(path, settings);
        Assert.True(hit.FromCache);
        bool canPrepare = Environment.ProcessorCount > 1;
        Assert.Equal(prepared && canPrepare, messages.Any(m => m.Contains(Prepared)));
        Assert.Equal(prepared && !canPrepare, messages.Any(m => m.Contains(LoadedBeside)));
        return hit;
    }

    /// <summary>model.onnx written from <paramref name="seed"/> and converted once: a miss, built and stored.</summary>
    private (string Path, Engines.TrtEngine Built) BuiltModel(int seed = 1)
    {
        string path = _dir.File("model.onnx");
        WriteModel(path, seed);
        var (built, messages) = Convert(path);
        Assert.False(built.FromCache);
        Assert.DoesNotContain(messages, m => m.Contains(Prepared));
        return (path, built);
    }

    /// <summary>What the model at <paramref name="path"/> computes, built without the cache.</summary>
    private float[] Uncached(string path)
    {
        using var engine = EngineConverter.Convert(path, Settings with { UseCache = false });
        return Run(engine);
    }

    [Fact]
    public void A_second_conversion_packs_as_it_parses_and_matches_a_plain_hit()
    {
        var (path, built) = BuiltModel();
        Assert.True(built.WeightBytes >= GuessedEntry.MinWeightBytes, $"{built.WeightBytes} bytes of engine weights: too few for a hit to prepare");

        var guessed = Hit(path, prepared: true);
        Assert.Equal(Run(built), Run(guessed));

        // Without the hint the same entry serves a plain hit, with the same outputs.
        Directory.Delete(Path.Combine(Cache, ".hints"), recursive: true);
        Assert.Equal(Run(built), Run(Hit(path, prepared: false)));
        Assert.Equal(2, Assert.Single(new DiskEngineStore(Cache).List()).HitCount);

        // The guessed engine refits on as any other.
        guessed.Refit(Refit.WeightSources.FromFile(path));
        Assert.Equal(Run(built), Run(guessed));
    }

    [Fact]
    public void A_hinted_model_cut_short_is_refused_while_its_entry_loads_and_the_whole_one_hits_after()
    {
        // The model's bytes are read while the hinted entry loads on the other thread: a file that no longer parses is
        // refused as without a hint, and the whole file's next conversion hits the entry, its refit prepared again.
        var (path, built) = BuiltModel();
        byte[] whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        Assert.Throws<OnnxFormatException>(() => EngineConverter.Convert(path, Settings));
        File.WriteAllBytes(path, whole);
        var hit = Hit(path, prepared: true);
        Assert.Equal(Run(built), Run(hit));
    }

    [Fact]
    public void New_weights_in_the_same_file_hit_the_hinted_entry_with_those_weights()
    {
        var (path, _) = BuiltModel();
        WriteModel(path, seed: 2);
        Assert.Equal(Uncached(path), Run(Hit(path, prepared: true)));
    }

    [Fact]
    public void A_file_that_now_holds_another_structure_is_built_and_then_hinted()
    {
        var (path, first) = BuiltModel();
        WriteModel(path, seed: 3, channels: 320);
        var (built, messages) = Convert(path);
        Assert.False(built.FromCache);
        Assert.NotEqual(first.CacheKey, built.CacheKey);
        Assert.DoesNotContain(messages, m => m.Contains(Prepared));
        Assert.Equal(Uncached(path), Run(built));

        var hit = Hit(path, prepared: true);
        Assert.Equal(built.CacheKey, hit.CacheKey);
        Assert.Equal(Run(built), Run(hit));
    }

    /// <summary>
    /// New weights that are not finite (a NaN, a negative variance) are the model's as a build takes them: the hit's refit
    /// takes them too. It once refused them, which the conversion took for an entry that did not fit: it removed the
    /// entry, pinned as it was, and built it again.
    /// </summary>
    [Theory]
    [InlineData("w1", float.NaN)]
    [InlineData("var", -3f)]
    public void New_weights_that_are_not_finite_hit_and_leave_the_entry_and_its_pin_alone(string name, float value)
    {
        var (path, built) = BuiltModel();
        var store = new DiskEngineStore(Cache);
        Assert.True(store.SetPinned(built.CacheKey!, true));
        WriteModel(path, 2, poison: (name, value));
        var fresh = EngineConverter.Convert(path, Settings with { UseCache = false });
        var hit = Hit(path, prepared: true);
        Assert.Equal(Run(fresh), Run(hit));
        Assert.Contains(Run(hit), v => !float.IsFinite(v));
        var entry = Assert.Single(store.List());
        Assert.Equal((built.CacheKey, true, 1L), (entry.Key, entry.Pinned, entry.HitCount));
    }

    /// <summary>A shape given under a name the rewritten model no longer has is said as such, the hinted entry's prepared import included.</summary>
    [Fact]
    public void A_shape_for_an_input_the_rewritten_model_lacks_is_refused_by_name_on_a_hinted_conversion()
    {
        string path = _dir.File("model.onnx");
        WriteModel(path, 1, readsBatch: true);
        var settings = Settings with { InputShapes = new Dictionary<string, int[]> { ["x"] = [1, 32, 6, 6] } };
        Assert.False(Convert(path, settings).Engine.FromCache);
        Hit(path, prepared: true, settings);
        WriteModel(path, 1, input: "image", readsBatch: true);
        var fresh = Assert.Throws<Native.Network.ShapeException>(() => EngineConverter.Convert(path, settings with { UseCache = false }));
        var hinted = Assert.Throws<Native.Network.ShapeException>(() => Convert(path, settings));
        Assert.Equal(fresh.Message, hinted.Message);
        Assert.Contains("A shape was given for 'x', which is not an input of 'model'", hinted.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_settings_keep_their_own_hint()
    {
        var (path, level0) = BuiltModel();
        var level1 = Convert(path, Settings with { OptimizationLevel = 1 }).Engine;
        Assert.NotEqual(level0.CacheKey, level1.CacheKey);
        foreach (var (settings, key) in new[] { (Settings, level0.CacheKey), (Settings with { OptimizationLevel = 1 }, level1.CacheKey) })
            Assert.Equal(key, Hit(path, prepared: true, settings).CacheKey);
    }

    [Fact]
    public void A_damaged_hint_is_ignored()
    {
        var (path, built) = BuiltModel();
        string hint = Assert.Single(Directory.GetFiles(Path.Combine(Cache, ".hints")));
        // Empty, not a hint, a key without its size, and a well-formed hint naming no entry.
        foreach (string content in new[] { "", "not a key", new string('a', CacheKey.Length), new string('f', CacheKey.Length) + " 5000000" })
        {
            File.WriteAllText(hint, content);
            Assert.Equal(Run(built), Run(Hit(path, prepared: false)));
        }
    }

    [Fact]
    public void A_damaged_hinted_entry_is_reported_removed_and_rebuilt_as_without_a_hint()
    {
        var (path, built) = BuiltModel();
        string plan = Path.Combine(Cache, built.CacheKey!, "plan.trtp");
        var bytes = File.ReadAllBytes(plan);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(plan, bytes);

        var (rebuilt, messages) = Convert(path);
        Assert.False(rebuilt.FromCache);
        string miss = Assert.Single(messages, m => m.StartsWith("Cache miss: ", StringComparison.Ordinal));
        Assert.Contains("checksum", miss);
        Assert.Contains("removed", miss);
        Assert.Equal(Run(built), Run(rebuilt));
        Hit(path, prepared: true);
    }

    [Fact]
    public void A_small_engine_hits_its_hinted_entry_loaded_beside_the_parse_and_leaves_the_hint_as_it_was()
    {
        string path = Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");
        var built = Convert(path).Engine;
        Assert.True(built.WeightBytes < GuessedEntry.MinWeightBytes);
        string hint = Assert.Single(Directory.GetFiles(Path.Combine(Cache, ".hints")));
        var longAgo = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(hint, longAgo);
        var (hit, messages) = Convert(path);
        Assert.True(hit.FromCache);
        Assert.Contains(messages, m => m.Contains(LoadedBeside));
        Assert.Equal(longAgo, File.GetLastWriteTimeUtc(hint));
        var input = new Dictionary<string, float[]> { ["input"] = ErrorMetrics.RandomValues(12, 64) };
        Assert.Equal(built.Run(input)[0].Data, hit.Run(input)[0].Data);
    }

    [Fact]
    public void A_stripped_conversion_takes_the_hinted_entry_unrefitted_and_leaves_the_hint_as_it_was()
    {
        var (path, built) = BuiltModel();
        string hint = Assert.Single(Directory.GetFiles(Path.Combine(Cache, ".hints")));
        var longAgo = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(hint, longAgo);
        var (stripped, messages) = Convert(path, Settings with { StripWeights = true });
        Assert.True(stripped.FromCache);
        Assert.False(stripped.HasWeights);
        Assert.DoesNotContain(messages, m => m.Contains(Prepared));
        Assert.Equal(longAgo, File.GetLastWriteTimeUtc(hint));
        stripped.Refit(Refit.WeightSources.FromFile(path));
        Assert.Equal(Run(built), Run(stripped));
    }

    [Fact]
    public void Removing_or_evicting_an_entry_takes_the_hints_naming_it_and_the_next_build_hints_again()
    {
        string tiny = Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx"), hints = Path.Combine(Cache, ".hints");
        string tinyKey = Convert(tiny).Engine.CacheKey!;
        string tinyHint = Assert.Single(Directory.GetFiles(hints));
        var (path, built) = BuiltModel();
        string hint = Assert.Single(Directory.GetFiles(hints), h => h != tinyHint);
        // A file of another name is not the store's, whatever it holds.
        string notes = Path.Combine(hints, "notes.txt");
        File.WriteAllText(notes, tinyKey + " 100");

        var store = new DiskEngineStore(Cache);
        Assert.True(store.Remove(tinyKey));
        Assert.Equal([hint, notes], Directory.GetFiles(hints).Order());
        Assert.False(Convert(tiny).Engine.FromCache);
        Assert.True(File.Exists(tinyHint));
        Assert.Contains(Convert(tiny).Messages, m => m.Contains(LoadedBeside));

        // Evicted: a forced rebuild of the large model under a limit only its own entry fits (its manifest's build time
        // may take a few more digits this time).
        var sizes = store.List().ToDictionary(e => e.Key, e => e.SizeBytes);
        Assert.False(Convert(path, Settings with { Force = true, CacheSizeLimit = sizes[built.CacheKey!] + sizes[tinyKey] / 2 }).Engine.FromCache);
        Assert.DoesNotContain(store.List(), e => e.Key == tinyKey);
        Assert.Equal([hint, notes], Directory.GetFiles(hints).Order());
        Hit(path, prepared: true);

        // An engine the cache does not take leaves no hint: there is no entry to name.
        string copy = _dir.File("copy.onnx");
        File.Copy(tiny, copy);
        var (uncached, warnings) = Convert(copy, Settings with { CacheSizeLimit = 1 });
        Assert.False(uncached.FromCache);
        Assert.Contains(warnings, m => m.Contains("not cached"));
        Assert.Equal([hint, notes], Directory.GetFiles(hints).Order());

        // A store that read the hints for an earlier removal reads them again once others were written: the copy's
        // hint, naming the same entry, is a file it has not seen.
        Assert.False(Convert(tiny).Engine.FromCache);
        Assert.True(Convert(copy).Engine.FromCache);
        Assert.Equal(4, Directory.GetFiles(hints).Length);
        Assert.True(store.Remove(tinyKey));
        Assert.Equal([hint, notes], Directory.GetFiles(hints).Order());
    }
}
