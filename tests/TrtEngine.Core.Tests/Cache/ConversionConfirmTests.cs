using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using TrtEngine.Testing.Metrics;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>
/// <see cref="EngineConverter.TryConvert"/>'s question (New-TrtEngine's -WhatIf and -Confirm): asked once, naming the
/// key and whether the cache would be read or written, and a declined conversion leaves the cache byte for byte as it was.
/// </summary>
public sealed class ConversionConfirmTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static string TinyMlp => Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");
    private string Cache => _dir.File("cache");

    private ConversionSettings Settings => new() { CacheDirectory = Cache, OptimizationLevel = 0 };

    public void Dispose() => _dir.Dispose();

    /// <summary>Every file under the cache with its bytes, and every directory.</summary>
    private string[] Snapshot() =>
        !Directory.Exists(Cache) ? [] : Directory.EnumerateFileSystemEntries(Cache, "*", SearchOption.AllDirectories)
            .Select(p => File.Exists(p) ? $"{p} {Convert.ToHexString(File.ReadAllBytes(p))}" : p).Order(StringComparer.Ordinal).ToArray();

    private (Engines.TrtEngine? Engine, List<string> Asked) Ask(ConversionSettings settings, bool answer)
    {
        var asked = new List<string>();
        var engine = EngineConverter.TryConvert(TinyMlp, settings, action => { asked.Add(action); return answer; });
        return (engine, asked);
    }

    [Fact]
    public void A_declined_build_creates_no_cache_at_all()
    {
        var (engine, asked) = Ask(Settings, answer: false);
        Assert.Null(engine);
        string question = Assert.Single(asked);
        Assert.StartsWith("Build an engine and store it as cache entry ", question);
        Assert.EndsWith($" in {Cache}", question);
        Assert.False(Directory.Exists(Cache), "a declined build created the cache directory");

        var (built, again) = Ask(Settings, answer: true);
        Assert.NotNull(built);
        Assert.False(built.FromCache);
        Assert.Equal(question, Assert.Single(again));
        Assert.Contains(built.CacheKey!, question);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_declined_hit_records_nothing_whether_or_not_the_entry_was_loaded_ahead(bool hinted)
    {
        using var built = EngineConverter.Convert(TinyMlp, Settings);
        // Without the hint the conversion finds the entry by its key; with it, loads it beside the parse.
        if (!hinted) Directory.Delete(Path.Combine(Cache, ".hints"), recursive: true);
        string[] before = Snapshot();

        var (engine, asked) = Ask(Settings, answer: false);
        Assert.Null(engine);
        Assert.Equal($"Load cache entry {built.CacheKey} from {Cache} and refit it with the model's weights", Assert.Single(asked));
        Assert.Equal(before, Snapshot());
        Assert.Equal(0, Assert.Single(new DiskEngineStore(Cache).List()).HitCount);

        var (stripped, strippedAsked) = Ask(Settings with { StripWeights = true }, answer: false);
        Assert.Null(stripped);
        Assert.Equal($"Load cache entry {built.CacheKey} from {Cache} without weights", Assert.Single(strippedAsked));
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void An_accepted_hit_is_the_hit_a_plain_conversion_makes()
    {
        using var built = EngineConverter.Convert(TinyMlp, Settings);
        var (engine, asked) = Ask(Settings, answer: true);
        using var hit = Assert.IsType<Engines.TrtEngine>(engine);
        Assert.Single(asked);
        Assert.True(hit.FromCache);
        var input = new Dictionary<string, float[]> { ["input"] = ErrorMetrics.RandomValues(7, 2 * 64) };
        Assert.Equal(built.Run(input)[0].Data, hit.Run(input)[0].Data);
        Assert.Equal(1, Assert.Single(new DiskEngineStore(Cache).List()).HitCount);
    }

    [Fact]
    public void A_declined_rebuild_keeps_the_entry_and_a_declined_uncached_build_asks_without_a_key()
    {
        using var built = EngineConverter.Convert(TinyMlp, Settings);
        string[] before = Snapshot();
        var (engine, asked) = Ask(Settings with { Force = true }, answer: false);
        Assert.Null(engine);
        Assert.Equal($"Rebuild the engine and replace cache entry {built.CacheKey} in {Cache}", Assert.Single(asked));
        Assert.Equal(before, Snapshot());

        var (uncached, uncachedAsked) = Ask(Settings with { UseCache = false }, answer: false);
        Assert.Null(uncached);
        Assert.Equal("Build an engine without the cache (nothing is stored)", Assert.Single(uncachedAsked));
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void A_cache_directory_that_is_a_file_is_named_in_the_question()
    {
        File.WriteAllText(Cache, "not a cache");
        var (engine, asked) = Ask(Settings, answer: false);
        Assert.Null(engine);
        Assert.StartsWith($"Build an engine without the cache (The cache directory '{Cache}' is a file", Assert.Single(asked));
        Assert.Equal("not a cache", File.ReadAllText(Cache));
    }
}
