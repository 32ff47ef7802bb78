using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using TrtEngine.Core.Tests.Reliability;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>
/// A cache directory that is a file (or lies under one) is an error that says so, not an empty cache; a conversion
/// still returns its engine, built without the cache, with a warning that says the path is a file.
/// </summary>
public sealed class CacheDirectoryIsFileTests(ReliabilityModels models) : IClassFixture<ReliabilityModels>, IDisposable
{
    private const string Key = "0123456789abcdef0123456789abcdef01234567";
    private readonly TempDirectory _dir = WithNotes();

    public void Dispose() => _dir.Dispose();

    private string FilePath => _dir.File("notes.txt");

    private static TempDirectory WithNotes()
    {
        var dir = new TempDirectory();
        File.WriteAllText(dir.File("notes.txt"), "the user's notes");
        return dir;
    }

    [Theory]
    [InlineData("")]
    [InlineData("cache")] // a folder under the file
    public void Listing_checking_summarizing_finding_removing_and_pinning_say_the_path_is_a_file(string below)
    {
        string cache = Path.Combine(FilePath, below);
        var store = new DiskEngineStore(cache, 1 << 20);
        var failures = new Action[]
        {
            () => store.List(), () => store.Check(TimeSpan.Zero), () => store.Summary(), () => store.Find(Key),
            () => store.Remove(Key), () => store.Remove(Key, includePinned: false), () => store.SetPinned(Key, true),
        };
        foreach (var failure in failures)
        {
            var e = Assert.Throws<CacheDirectoryIsFileException>(failure);
            Assert.Equal((store.Directory, FilePath), (e.Directory, e.FilePath));
            Assert.Contains($"'{FilePath}' is a file, not a folder", e.Message, StringComparison.Ordinal);
            Assert.Contains("Give the path of a folder", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal("the user's notes", File.ReadAllText(FilePath));
    }

    [Fact]
    public void A_conversion_builds_without_the_cache_and_its_one_warning_says_the_path_is_a_file()
    {
        var events = new RecordingEvents();
        // The convolution is timed: a build that tried to save its timings beside the file would warn again.
        using var engine = EngineConverter.Convert(models.Paths[2], new ConversionSettings { CacheDirectory = FilePath, CacheSizeLimit = 1 << 30, OptimizationLevel = 2 }, events);
        Assert.False(engine.FromCache);
        Assert.Null(engine.CacheKey);
        string warning = Assert.Single(events.Warnings); // no second one from the timing cache
        Assert.Contains($"'{FilePath}' is a file, not a folder", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("already exists", warning, StringComparison.Ordinal);
        Assert.Equal("the user's notes", File.ReadAllText(FilePath));
    }

    [Fact]
    public void A_cache_directory_that_does_not_exist_is_still_an_empty_cache()
    {
        var store = new DiskEngineStore(_dir.File("no-cache"), 1 << 20);
        Assert.Empty(store.List());
        Assert.Empty(store.Check(TimeSpan.Zero));
        Assert.Equal(CacheRemoval.NotFound, store.Remove(Key, includePinned: true));
        Assert.False(Directory.Exists(_dir.File("no-cache")));
    }
}
