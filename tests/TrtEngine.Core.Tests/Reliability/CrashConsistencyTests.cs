using System.Globalization;
using TrtEngine.CacheWorker;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using Xunit.Abstractions;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// A converting process killed (SIGKILL) at random points of build and insert: the cache it leaves shows no partial
/// entry, its leftovers are reported and repaired, its locks are free, its size accounting matches the disk, and it
/// serves correct engines afterwards.
/// </summary>
public sealed class CrashConsistencyTests(ReliabilityModels models, ITestOutputHelper output) : IClassFixture<ReliabilityModels>, IDisposable
{
    private static readonly string[] Steps = ["lock", "build", "temp", "plan", "manifest", "publish", "evict", "access-log", "random"];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_cache_stays_consistent_when_converting_processes_are_killed_mid_build_and_mid_insert()
    {
        int kills = Soak.Trials(12, 50);
        string cache = _dir.File("cache");
        var settings = new ConversionSettings { CacheDirectory = cache, OptimizationLevel = 0 };
        foreach (string p in models.Paths) EngineConverter.Convert(p, settings);
        long limit = new DiskEngineStore(cache).Summary().SizeBytes * 2 / 3; // two of the three entries fit: inserts evict
        var random = new Random(5150);
        var stoppedAt = new Dictionary<string, int>();
        int orphans = 0, finished = 0, killed = 0;
        for (int trial = 0; killed < kills; trial++)
        {
            string step = Steps[random.Next(Steps.Length)];
            string spec = step == "build" ? $"build:{1 + random.Next(6)}" : $"{step}:{1 + random.Next(2)}";
            var args = new List<string> { "convert", "--cache", cache, "--limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--models", string.Join(',', models.Paths), "--worker", random.Next(3).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--iterations", "4", "--level", "1" };
            // Force rebuilds in half the trials so inserts (and evictions) happen even when entries exist.
            if (random.Next(2) == 0) args.Add("--force");
            if (step != "random") args.AddRange(["--stop-at", spec]);
            using (var worker = new WorkerProcess([.. args]))
            {
                string? line;
                if (step == "random")
                {
                    Thread.Sleep(random.Next(50, 1500)); // anywhere: start-up, import, build, insert, hits
                    line = "STOPPED random";
                }
                else line = worker.WaitFor("STOPPED ");
                if (line is null)
                {
                    finished++; // the step did not come up in this run (e.g. no hit, nothing to evict)
                    Assert.Equal(0, worker.Finish(TimeSpan.FromMinutes(2)));
                }
                else
                {
                    worker.Kill();
                    killed++;
                    stoppedAt[line["STOPPED ".Length..]] = stoppedAt.GetValueOrDefault(line["STOPPED ".Length..]) + 1;
                }
            }
            orphans += AssertConsistentAndRepair(cache, $"trial {trial} ({spec})");
        }
        foreach (var (path, i) in models.Paths.Select((p, i) => (p, i)))
            Assert.Equal(models.Digests[i], WorkerIO.OutputDigest(EngineConverter.Convert(path, settings with { CacheSizeLimit = limit })));
        Soak.Report(output, "crash", $"{kills} SIGKILLs of a converting process: stopped at {string.Join(", ", stoppedAt.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))}; " +
            $"{finished} more runs ended before their stop point (not counted); after every kill: 0 partial entries visible, {orphans} leftover temporary items reported as Orphaned and repaired, " +
            "0 locks still held, Get-TrtCache -Summary bytes = bytes of the entries on disk; afterwards every model converts with bit-identical outputs");
    }

    [Theory]
    [InlineData("timing.cache.{0}.tmp", "half a timing ca")]
    [InlineData(".hints/0123456789abcdef0123456789abcdef01234567.{0}.tmp", "0123")]
    public void A_temporary_file_left_by_a_killed_conversion_is_reported_and_repaired(string name, string content)
    {
        string cache = _dir.File("cache");
        EngineConverter.Convert(models.Paths[2], new ConversionSettings { CacheDirectory = cache, OptimizationLevel = 1 }); // a timed convolution
        string left = Path.Combine(cache, string.Format(CultureInfo.InvariantCulture, name, Guid.NewGuid().ToString("N")));
        File.WriteAllText(left, content);
        var store = new DiskEngineStore(cache);
        Assert.DoesNotContain(store.Check(TimeSpan.FromHours(1)), c => c.Path == left); // it may belong to a build in progress
        var orphan = Assert.Single(store.Check(TimeSpan.Zero), c => !c.IsHealthy);
        Assert.Equal(("Orphaned", left), (orphan.Status, orphan.Path));
        store.Repair(orphan);
        Assert.False(File.Exists(left));
        Assert.True(File.Exists(Path.Combine(cache, "timing.cache")));
    }

    [Fact]
    public void A_temporary_file_left_in_a_cache_named_with_a_trailing_slash_is_repaired()
    {
        // "./cache/" as tab completion writes it: Repair took the timing cache's leftover for an item outside the cache.
        string cache = _dir.File("cache");
        EngineConverter.Convert(models.Paths[2], new ConversionSettings { CacheDirectory = cache, OptimizationLevel = 1 });
        string left = Path.Combine(cache, $"timing.cache.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(left, "half a timing ca");
        var store = new DiskEngineStore(cache + Path.DirectorySeparatorChar);
        var orphan = Assert.Single(store.Check(TimeSpan.Zero), c => !c.IsHealthy);
        store.Repair(orphan);
        Assert.False(File.Exists(left));
        Assert.Equal(cache, store.Directory);
        Assert.All(store.List(), e => Assert.Equal(cache, e.CacheDirectory));
    }

    /// <summary>Checks the cache a killed process left; returns how many leftovers it reported (and repaired).</summary>
    private static int AssertConsistentAndRepair(string cache, string context)
    {
        var store = new DiskEngineStore(cache);
        var checks = store.Check(TimeSpan.Zero);
        Assert.All(checks, c => Assert.True(c.Status is "Ok" or "Orphaned", $"{context}: {c.Status} {c.Path}: {c.Problem}"));
        foreach (var check in checks) store.Repair(check);
        Assert.All(store.Check(TimeSpan.Zero), c => Assert.True(c.IsHealthy, $"{context}: after repair: {c.Status} {c.Path}"));

        long onDisk = Directory.EnumerateDirectories(cache).Where(d => CacheKey.IsWellFormed(Path.GetFileName(d)))
            .Sum(d => Directory.EnumerateFiles(d).Sum(f => new FileInfo(f).Length));
        Assert.True(store.Summary().SizeBytes == onDisk, $"{context}: the summary counts {store.Summary().SizeBytes} bytes, the entries hold {onDisk}");

        // The OS released the dead process's locks: every lock file opens exclusively at once.
        string locks = Path.Combine(cache, ".locks");
        if (Directory.Exists(locks))
            foreach (string file in Directory.EnumerateFiles(locks))
                using (new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
        string temp = Path.Combine(cache, ".tmp");
        Assert.True(!Directory.Exists(temp) || !Directory.EnumerateFileSystemEntries(temp).Any(), $"{context}: a temporary item was neither reported nor repaired");
        return checks.Count(c => c.Status == "Orphaned");
    }
}
