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
}
