using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>A build cancelled mid-way (as Ctrl+C does through the cmdlet's token) stops at once and leaves the cache as it was.</summary>
public sealed class BuildCancellationTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static string TinyMlp => Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");

    public void Dispose() => _dir.Dispose();

    /// <summary>Cancels the build when it reports the first layer being tuned, and records every report.</summary>
    private sealed class CancelWhenTuning(CancellationTokenSource cancel) : IConversionEvents
    {
        public List<ConversionProgress> Reports { get; } = [];
        public void Verbose(string message) { }
        public void Warning(string message) { }

        public void Progress(ConversionProgress progress)
        {
            Reports.Add(progress);
            if (progress.Phase == "Tuning tactics") cancel.Cancel();
        }
    }

    [Fact]
    public void A_build_cancelled_while_tuning_stops_before_the_next_layer_and_leaves_no_entry_temp_dir_lock_or_timings()
    {
        string cache = _dir.File("cache");
        var settings = new ConversionSettings { CacheDirectory = cache, OptimizationLevel = 2 };
        var before = EngineConverter.Convert(TinyMlp, settings with { OptimizationLevel = 0 }); // an entry that must survive
        File.Delete(Path.Combine(cache, "timing.cache")); // level 0 times nothing; make sure no file predates the cancelled build

        using var cancel = new CancellationTokenSource();
        var events = new CancelWhenTuning(cancel);
        Assert.ThrowsAny<OperationCanceledException>(() => EngineConverter.Convert(TinyMlp, settings, events, cancel.Token));

        var tuning = events.Reports.Where(r => r.Phase == "Tuning tactics").ToList();
        Assert.Equal(0, Assert.Single(tuning).Current); // stopped inside the first tuned layer: no later report
        Assert.DoesNotContain(events.Reports, r => r.Phase == "Packing weights");

        var store = new DiskEngineStore(cache);
        Assert.Equal(before.CacheKey, Assert.Single(store.List()).Key);
        Assert.Equal(1, store.Summary().Builds);
        string temp = Path.Combine(cache, ".tmp");
        Assert.True(!Directory.Exists(temp) || !Directory.EnumerateFileSystemEntries(temp).Any());
        Assert.False(File.Exists(Path.Combine(cache, "timing.cache")));
        // The build lock was released: an exclusive open (what a holder prevents) of every lock file succeeds.
        var locks = Directory.EnumerateFiles(Path.Combine(cache, ".locks"), "*.lock").ToList();
        foreach (string file in locks)
            using (new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }

        // Released, a lock holds no process id: the next builder does not take it for one a dead process left (found by a QA helper, session 50).
        foreach (string file in locks) Assert.Equal(0, new FileInfo(file).Length);
        var said = new List<string>();
        var after = EngineConverter.Convert(TinyMlp, settings with { Store = new DiskEngineStore(cache, log: said.Add) });
        Assert.False(after.FromCache);
        Assert.Contains(store.BuildLockPath(after.CacheKey!), locks); // the lock the cancelled build took and gave back
        Assert.DoesNotContain(said, m => m.Contains("which is gone", StringComparison.Ordinal));
        Assert.Equal(0, new FileInfo(store.BuildLockPath(after.CacheKey!)).Length);
    }
}
