using System.Globalization;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using Xunit.Abstractions;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// Several processes converting the same and different models against one cache whose size limit forces evictions,
/// while another process empties it in a loop (Get-TrtCache | Remove-TrtCache): no failure, no corrupt entry, never
/// two builders of one key at once, and every engine computes exactly the reference outputs.
/// </summary>
public sealed class CacheConcurrencyTests(ReliabilityModels models, ITestOutputHelper output) : IClassFixture<ReliabilityModels>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Processes_converting_against_one_cache_while_another_empties_it_never_fail_or_disagree()
    {
        int workers = Soak.Trials(4, 8), iterations = Soak.Trials(8, 20);
        string cache = _dir.File("cache"), markers = _dir.File("markers"), stop = _dir.File("stop");
        Directory.CreateDirectory(markers);
        var probe = new DiskEngineStore(_dir.File("probe"));
        foreach (string p in models.Paths) EngineConverter.Convert(p, new ConversionSettings { Store = probe, OptimizationLevel = 1 });
        long limit = probe.Summary().SizeBytes * 2 / 3; // two of the three models' entries fit

        using var purger = new WorkerProcess("purge", "--cache", cache, "--stop", stop);
        var converters = Enumerable.Range(0, workers).Select(w => new WorkerProcess("convert", "--cache", cache, "--limit", limit.ToString(CultureInfo.InvariantCulture),
            "--models", string.Join(',', models.Paths), "--worker", w.ToString(CultureInfo.InvariantCulture), "--iterations", iterations.ToString(CultureInfo.InvariantCulture),
            "--level", "1", "--markers", markers)).ToList();
        var exits = converters.Select(c => c.Finish(TimeSpan.FromMinutes(8))).ToList();
        File.WriteAllText(stop, "");
        Assert.Equal(0, purger.Finish(TimeSpan.FromMinutes(1)));
        long purged = long.Parse(purger.Lines.Single(l => l.StartsWith("PURGED ", StringComparison.Ordinal))["PURGED ".Length..], CultureInfo.InvariantCulture);

        var lines = converters.SelectMany(c => c.Lines).ToList();
        Assert.All(converters, c => Assert.Empty(c.Errors));
        Assert.DoesNotContain(lines, l => l.StartsWith("ERROR", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("DOUBLE-BUILD", StringComparison.Ordinal));
        Assert.All(exits, e => Assert.Equal(0, e));
        var results = lines.Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToList();
        Assert.Equal(workers * iterations, results.Count);
        Assert.All(results, r => Assert.Equal(models.Digests[int.Parse(r[1], CultureInfo.InvariantCulture)], r[3]));

        var store = new DiskEngineStore(cache, limit);
        Assert.All(store.Check(TimeSpan.Zero), c => Assert.True(c.IsHealthy, $"{c.Status} {c.Path}: {c.Problem}"));
        var summary = store.Summary();
        Assert.True(summary.SizeBytes <= limit, $"{summary.SizeBytes} bytes over the {limit}-byte limit");
        int hits = results.Count(r => r[2] == "hit"), built = results.Count - hits;
        Soak.Report(output, "concurrency", $"{workers} processes x {iterations} conversions of 3 models against one cache (limit {limit} bytes) while a process emptied it in a loop: " +
            $"{results.Count} conversions, 0 failures, 0 wrong outputs (bit-identical to the uncached engine), 0 double builds of a key, 0 corrupt entries at the end; " +
            $"{built} built, {hits} hits, {summary.Evictions} evictions, {purged} entries removed by the purging process");
    }

    [Fact]
    public void Hits_that_processes_record_at_the_same_moment_are_all_counted()
    {
        // Appends to one access log and one counter from several processes at once (before they were locked, one in
        // four was lost).
        int workers = 3, iterations = 300;
        string cache = _dir.File("cache");
        EngineConverter.Convert(models.Paths[0], new ConversionSettings { CacheDirectory = cache, OptimizationLevel = 0 });
        var converters = Enumerable.Range(0, workers).Select(w => new WorkerProcess("convert", "--cache", cache, "--limit", (1L << 30).ToString(CultureInfo.InvariantCulture),
            "--models", models.Paths[0], "--iterations", iterations.ToString(CultureInfo.InvariantCulture))).ToList();
        Assert.All(converters.Select(c => c.Finish(TimeSpan.FromMinutes(4))), e => Assert.Equal(0, e));
        int hits = converters.SelectMany(c => c.Lines).Count(l => l.StartsWith("RESULT 0 hit", StringComparison.Ordinal));
        Assert.Equal(workers * iterations, hits);
        var store = new DiskEngineStore(cache);
        Assert.Equal(hits, Assert.Single(store.List()).HitCount);
        Assert.Equal(hits, store.Summary().Hits);
    }
}
