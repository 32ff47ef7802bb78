using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>
/// A damaged settings file stops only what needs it: saving new options replaces it (keeping a copy), and commands
/// given the cache directory (and, to store an engine, the size limit) never read it.
/// </summary>
[Collection(nameof(ProcessStateCollection))] // they point TRTENGINE_CONFIG_DIR and TRTENGINE_CACHE_DIR elsewhere
public sealed class CacheSettingsTests : IDisposable
{
    private const string Key = "0123456789abcdef0123456789abcdef01234567";
    private readonly TempDirectory _dir = new();
    private readonly string? _configDir = Environment.GetEnvironmentVariable("TRTENGINE_CONFIG_DIR");
    private readonly string? _cacheDir = Environment.GetEnvironmentVariable("TRTENGINE_CACHE_DIR");

    public CacheSettingsTests()
    {
        Environment.SetEnvironmentVariable("TRTENGINE_CONFIG_DIR", _dir.File("config"));
        Environment.SetEnvironmentVariable("TRTENGINE_CACHE_DIR", null);
        Directory.CreateDirectory(_dir.File("config"));
        File.WriteAllText(SettingsFile, "{bad");
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("TRTENGINE_CONFIG_DIR", _configDir);
        Environment.SetEnvironmentVariable("TRTENGINE_CACHE_DIR", _cacheDir);
        _dir.Dispose();
    }

    private string SettingsFile => Path.Combine(_dir.File("config"), "settings.json");

    private string Cache => _dir.File("cache");

    private static string TinyMlp => Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");

    private static void AssertSaysWhatToDo(InvalidDataException e, string path)
    {
        Assert.Contains($"'{path}' is damaged", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set-TrtCacheOption", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Where_the_file_is_needed_the_error_names_it_and_says_what_to_do()
    {
        Assert.Equal(SettingsFile, CacheOptions.SettingsPath);
        AssertSaysWhatToDo(Assert.Throws<InvalidDataException>(CacheOptions.Current), SettingsFile);
        AssertSaysWhatToDo(Assert.Throws<InvalidDataException>(() => DiskEngineStore.DefaultDirectory), SettingsFile);
        AssertSaysWhatToDo(Assert.Throws<InvalidDataException>(() => new DiskEngineStore(Cache).Summary()), SettingsFile); // it reports the limit
        Assert.Equal("{bad", File.ReadAllText(SettingsFile));
    }

    [Fact]
    public void Saving_options_over_a_damaged_file_replaces_it_and_keeps_a_copy_beside_it()
    {
        string? copy = CacheOptions.Save(Cache, 123_456);

        Assert.NotNull(copy);
        Assert.Equal(Path.GetDirectoryName(SettingsFile), Path.GetDirectoryName(copy));
        Assert.StartsWith("settings.json.damaged-", Path.GetFileName(copy), StringComparison.Ordinal);
        Assert.Equal("{bad", File.ReadAllText(copy));
        var options = CacheOptions.Current();
        Assert.Equal((Cache, "Settings", 123_456L, "Settings"), (options.CacheDirectory, options.CacheDirectorySource, options.SizeLimitBytes, options.SizeLimitSource));
        Assert.Null(CacheOptions.Save(null, 654_321)); // sound now: nothing more is copied, the directory stays
        Assert.Equal((Cache, 654_321L), (CacheOptions.Current().CacheDirectory, CacheOptions.Current().SizeLimitBytes));
        Assert.Equal(2, Directory.GetFiles(Path.GetDirectoryName(SettingsFile)!).Length);
    }

    [Fact]
    public void A_size_limit_that_is_not_positive_is_damage_too()
    {
        File.WriteAllText(SettingsFile, """{ "SizeLimitBytes": -5 }""");
        var e = Assert.Throws<InvalidDataException>(() => CacheOptions.CurrentSizeLimit());
        AssertSaysWhatToDo(e, SettingsFile);
        Assert.Contains("-5 bytes", e.Message, StringComparison.Ordinal);
        Assert.NotNull(CacheOptions.Save(null, 1_000_000));
        Assert.Equal(1_000_000, CacheOptions.CurrentSizeLimit());
    }

    [Fact]
    public void Listing_checking_and_removing_a_cache_given_by_directory_never_read_the_file()
    {
        var writer = new DiskEngineStore(Cache, 1 << 20);
        Assert.True(writer.Save(Key, new byte[100], new CacheManifest { PlanFormat = Native.Plan.EnginePlan.FormatVersion, InstructionSet = Native.Plan.HardwareInfo.CurrentInstructionSet }));
        Assert.Equal(1 << 20, writer.Summary().SizeLimitBytes);

        var store = new DiskEngineStore(Cache); // as the cache cmdlets open it: no size limit
        Assert.Equal(Key, Assert.Single(store.List()).Key);
        Assert.True(Assert.Single(store.Check(TimeSpan.Zero)).IsHealthy);
        Assert.True(store.SetPinned(Key, true));
        Assert.Equal(CacheRemoval.Removed, store.Remove(Key, includePinned: true));
    }

    [Fact]
    public void TRTENGINE_CACHE_DIR_gives_the_directory_without_reading_the_file()
    {
        Environment.SetEnvironmentVariable("TRTENGINE_CACHE_DIR", Cache);
        Assert.Equal(Cache, DiskEngineStore.DefaultDirectory);
        Assert.Throws<InvalidDataException>(CacheOptions.Current); // it reports the size limit, which only the file holds
    }

    [Fact]
    public void A_conversion_hits_without_the_file_and_a_build_that_needs_its_limit_is_returned_uncached_saying_why()
    {
        using (var engine = EngineConverter.Convert(TinyMlp, new ConversionSettings { CacheDirectory = Cache, CacheSizeLimit = 1 << 30 }))
            Assert.NotNull(engine.CacheKey);
        // A hit stores nothing: it needs no size limit.
        using (var hit = EngineConverter.Convert(TinyMlp, new ConversionSettings { CacheDirectory = Cache }))
            Assert.True(hit.FromCache);

        var events = new RecordingEvents();
        using var built = EngineConverter.Convert(TinyMlp, new ConversionSettings { CacheDirectory = _dir.File("other"), Force = true }, events);
        Assert.True(built.HasWeights);
        string warning = Assert.Single(events.Warnings);
        Assert.StartsWith("The engine was built but could not be cached", warning);
        Assert.Contains(SettingsFile, warning);
        Assert.Contains("Set-TrtCacheOption", warning);
        Assert.Empty(new DiskEngineStore(_dir.File("other"), 1 << 30).List());
    }
}
