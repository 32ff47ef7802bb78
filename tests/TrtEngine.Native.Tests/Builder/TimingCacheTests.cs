using TrtEngine.Native.Builder;

namespace TrtEngine.Native.Tests.Builder;

/// <summary>The timing cache file: builders that save at once merge rather than drop each other's timings.</summary>
public sealed class TimingCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trtengine-timing-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Builders_saving_at_once_keep_every_timing()
    {
        string path = Path.Combine(_dir, "timing.cache");
        // Each builder adds its own layers and saves, many at a time: merged under the lock, none is lost.
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, builder =>
        {
            var cache = new TimingCache();
            for (int layer = 0; layer < 200; layer++) cache.Set($"builder {builder} layer {layer}", "packed_mr6_nr16", builder + layer / 100.0);
            cache.Save(path);
        });

        var saved = TimingCache.Load(path);
        Assert.Equal(64 * 200, saved.Count);
        Assert.True(saved.TryGet("builder 63 layer 199", out string tactic, out double microseconds));
        Assert.Equal(("packed_mr6_nr16", 64.99), (tactic, microseconds));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    /// <summary>
    /// The file keeps the most recently used timings up to its cap: every configuration ever built once added lines
    /// for good, and each build that timed a new layer read and rewrote them all.
    /// </summary>
    [Fact]
    public void The_file_keeps_the_most_recently_used_timings_up_to_its_cap()
    {
        string path = Path.Combine(_dir, "timing.cache");
        // A full file as an earlier version wrote it (no day: the oldest).
        File.WriteAllLines(path, Enumerable.Range(0, TimingCache.MaxEntries).Select(i => $"old {i:D5}\tpacked_mr6_nr16\t{i}"));
        var cache = TimingCache.Load(path);
        Assert.True(cache.TryGet("old 19999", out _, out _)); // found by a build: used today
        for (int i = 0; i < 10; i++) cache.Set($"new {i}", "avx512_mr12_nr32", i);
        cache.Save(path);

        var saved = TimingCache.Load(path);
        Assert.Equal(TimingCache.MaxEntries, saved.Count);
        Assert.True(saved.TryGet("new 9", out string tactic, out double microseconds));
        Assert.Equal(("avx512_mr12_nr32", 9.0), (tactic, microseconds));
        Assert.True(saved.TryGet("old 19999", out _, out _));
        // Of the oldest, those last in signature order went.
        Assert.True(saved.TryGet("old 19988", out _, out _));
        Assert.False(saved.TryGet("old 19989", out _, out _));
        Assert.False(saved.TryGet("old 19998", out _, out _));
    }
}
