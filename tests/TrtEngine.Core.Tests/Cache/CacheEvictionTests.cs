using TrtEngine.Core.Cache;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>Eviction under the size limit: least recently used first.</summary>
public sealed class CacheEvictionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Key(int i) => i.ToString("x", System.Globalization.CultureInfo.InvariantCulture).PadLeft(CacheKey.Length, 'b');

    private static void Save(DiskEngineStore store, int i) =>
        Assert.True(store.Save(Key(i), new byte[3000], new CacheManifest { ModelName = $"m{i}", PlanFormat = Native.Plan.EnginePlan.FormatVersion, InstructionSet = Native.Plan.HardwareInfo.CurrentInstructionSet }));

    [Fact]
    public void An_entry_hit_a_thousand_times_is_the_last_evicted_not_the_first()
    {
        // Entries of about 3,500 bytes; 12,000 hold three. A hit appended a 25-byte line to the entry's access log:
        // 25 KB for a thousand, which the limit counts, so the most used entry outweighed the rest and went with them.
        // A hit is a byte now.
        var store = new DiskEngineStore(_dir.File("cache"), 12_000);
        for (int i = 0; i < 3; i++) Save(store, i);
        long unused = store.Find(Key(2))!.SizeBytes;
        for (int h = 0; h < 1000; h++) store.RecordHit(Key(2));
        var hit = store.Find(Key(2))!;
        Assert.Equal(1000, hit.HitCount);
        Assert.Equal(unused + 1000, hit.SizeBytes);

        Save(store, 3);
        Assert.Equal([Key(1), Key(2), Key(3)], store.List().Select(e => e.Key).Order());
        Assert.Equal(1, store.Summary().Evictions);
    }
}
