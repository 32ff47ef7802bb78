using TrtEngine.CacheWorker;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using Xunit.Abstractions;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// A cache that cannot be written (disk full at any step of an insert, a read-only directory): the conversion still
/// returns a working engine, says why the cache was not used, and leaves no partial entry.
/// </summary>
public sealed class DiskFaultTests(ReliabilityModels models, ITestOutputHelper output) : IClassFixture<ReliabilityModels>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir.File("cache");

    /// <summary>A store whose writes fail at one step, as a full disk makes them fail (ENOSPC surfaces as an IOException).</summary>
    private DiskEngineStore FailingAt(string step, Func<Exception> fault, RecordingEvents? events = null) =>
        new(Cache, log: events is null ? null : events.Verbose) { BeforeWrite = s => { if (s == step) throw fault(); } };

    private static IOException NoSpace() => new("No space left on device");

    [Theory]
    [InlineData("lock")]
    [InlineData("temp")]
    [InlineData("plan")]
    [InlineData("manifest")]
    [InlineData("publish")]
    public void A_full_disk_during_an_insert_returns_a_working_engine_with_a_warning_and_no_partial_entry(string step)
    {
        var events = new RecordingEvents();
        var engine = EngineConverter.Convert(models.Paths[2], new ConversionSettings { Store = FailingAt(step, NoSpace), OptimizationLevel = 0 }, events);
        Assert.Equal(models.Digests[2], WorkerIO.OutputDigest(engine));
        Assert.Contains("No space left on device", Assert.Single(events.Warnings));
        AssertNoEntryAndNothingLeft();
        Soak.Report(output, $"disk-full-{step}", $"disk full at '{step}': engine returned with bit-identical outputs, warning \"{events.Warnings[0]}\", 0 entries, 0 temporary items left");
    }

    [Fact]
    public void A_full_disk_while_evicting_keeps_the_new_entry_whole_and_stored()
    {
        var store = new DiskEngineStore(Cache, sizeLimit: 1);
        EngineConverter.Convert(models.Paths[0], new ConversionSettings { Store = store, OptimizationLevel = 0 }); // larger than the limit: not stored
        var roomy = new DiskEngineStore(Cache);
        EngineConverter.Convert(models.Paths[0], new ConversionSettings { Store = roomy, OptimizationLevel = 0 });
        long one = roomy.Summary().SizeBytes;
        var events = new RecordingEvents();
        var log = new List<string>();
        var engine = EngineConverter.Convert(models.Paths[1], new ConversionSettings { Store = new DiskEngineStore(Cache, one + 10, log.Add) { BeforeWrite = s => { if (s == "evict") throw NoSpace(); } }, OptimizationLevel = 0 }, events);
        Assert.Equal(models.Digests[1], WorkerIO.OutputDigest(engine));
        // Stored, and said so: only the eviction failed, which leaves the cache over its limit until a later insert.
        Assert.Empty(events.Warnings);
        Assert.Contains(engine.CacheKey, roomy.List().Select(e => e.Key));
        Assert.Contains(log, m => m.StartsWith("Could not evict", StringComparison.Ordinal) && m.Contains("No space left", StringComparison.Ordinal));
        Assert.All(roomy.Check(TimeSpan.Zero), c => Assert.True(c.IsHealthy, c.Problem));
    }

    [Fact]
    public void A_hit_that_cannot_record_its_access_still_returns_the_engine()
    {
        EngineConverter.Convert(models.Paths[0], new ConversionSettings { CacheDirectory = Cache, OptimizationLevel = 0 });
        var events = new RecordingEvents();
        var hit = EngineConverter.Convert(models.Paths[0], new ConversionSettings { Store = FailingAt("access-log", NoSpace, events), OptimizationLevel = 0 }, events);
        Assert.True(hit.FromCache);
        Assert.Equal(models.Digests[0], WorkerIO.OutputDigest(hit));
        Assert.Contains(events.Messages, m => m.StartsWith("Could not record the hit", StringComparison.Ordinal));
    }

    [Fact]
    public void A_cache_the_user_may_not_write_returns_a_working_engine_with_a_warning()
    {
        var events = new RecordingEvents();
        var engine = EngineConverter.Convert(models.Paths[1], new ConversionSettings { Store = FailingAt("lock", () => new UnauthorizedAccessException("Access to the path is denied.")), OptimizationLevel = 0 }, events);
        Assert.Equal(models.Digests[1], WorkerIO.OutputDigest(engine));
        Assert.Contains("cannot be written", Assert.Single(events.Warnings));
        AssertNoEntryAndNothingLeft();
    }

    [Fact]
    public void A_lock_file_that_cannot_be_opened_is_reported_not_waited_for()
    {
        // Any IOException used to count as "another process holds the lock", so this waited forever.
        var key = EngineConverter.Convert(models.Paths[0], new ConversionSettings { UseCache = true, CacheDirectory = _dir.File("probe"), OptimizationLevel = 0 }).CacheKey!;
        Directory.CreateDirectory(Path.Combine(Cache, ".locks"));
        File.CreateSymbolicLink(new DiskEngineStore(Cache).BuildLockPath(key), _dir.File("missing/dir/lock"));
        var events = new RecordingEvents();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // fails the test instead of hanging it
        var engine = EngineConverter.Convert(models.Paths[0], new ConversionSettings { CacheDirectory = Cache, OptimizationLevel = 0 }, events, guard.Token);
        Assert.Equal(models.Digests[0], WorkerIO.OutputDigest(engine));
        Assert.Contains("cannot be written", Assert.Single(events.Warnings));
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_read_only_cache_directory_returns_a_working_engine_with_a_warning()
    {
        Skip.If(OperatingSystem.IsWindows(), "read-only directories are simulated with Unix permissions");
        Directory.CreateDirectory(Cache);
        File.SetUnixFileMode(Cache, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            bool enforced;
            try
            {
                File.WriteAllText(Path.Combine(Cache, "probe"), "");
                enforced = false;
            }
            catch (UnauthorizedAccessException)
            {
                enforced = true;
            }
            Skip.IfNot(enforced, "this process (root, or with CAP_DAC_OVERRIDE) writes into read-only directories; the fault seam test covers the path");
            var events = new RecordingEvents();
            var engine = EngineConverter.Convert(models.Paths[0], new ConversionSettings { CacheDirectory = Cache, OptimizationLevel = 0 }, events);
            Assert.Equal(models.Digests[0], WorkerIO.OutputDigest(engine));
            Assert.NotEmpty(events.Warnings);
            Assert.Empty(Directory.EnumerateFileSystemEntries(Cache));
        }
        finally
        {
            File.SetUnixFileMode(Cache, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private void AssertNoEntryAndNothingLeft()
    {
        var store = new DiskEngineStore(Cache);
        Assert.Empty(store.List());
        Assert.Empty(store.Check(TimeSpan.Zero));
        string temp = Path.Combine(Cache, ".tmp");
        Assert.True(!Directory.Exists(temp) || !Directory.EnumerateFileSystemEntries(temp).Any(), "a temporary directory was left behind");
    }
}
