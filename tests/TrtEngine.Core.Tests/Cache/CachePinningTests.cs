using TrtEngine.Core.Cache;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>Pinned entries: never evicted, kept by removals that respect pins, kept through a rebuild, safe against racing evictions.</summary>
public sealed class CachePinningTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<string> _log = [];

    public void Dispose() => _dir.Dispose();

    private static string Key(int i) => i.ToString("x", System.Globalization.CultureInfo.InvariantCulture).PadLeft(CacheKey.Length, 'a');

    /// <summary>Entries of about 3,500 bytes on disk; a 12,000-byte store holds three.</summary>
    private DiskEngineStore Store(long limit = 12_000) => new(_dir.File("cache"), limit, _log.Add);

    private static bool Save(DiskEngineStore store, int i) =>
        store.Save(Key(i), new byte[3000], new CacheManifest { ModelName = $"m{i}", PlanFormat = Native.Plan.EnginePlan.FormatVersion, InstructionSet = Native.Plan.HardwareInfo.CurrentInstructionSet });

    [Fact]
    public void Eviction_skips_pinned_entries_and_takes_the_least_recently_used_unpinned_one()
    {
        var store = Store();
        Save(store, 0);
        Save(store, 1);
        Save(store, 2);
        Assert.True(store.SetPinned(Key(0), true)); // the oldest: eviction would take it first
        Assert.True(Save(store, 3));
        var keys = store.List().Select(e => e.Key).ToHashSet();
        Assert.Contains(Key(0), keys);
        Assert.DoesNotContain(Key(1), keys);
        Assert.Contains(Key(3), keys);
        Assert.True(store.Find(Key(0))!.Pinned);
        Assert.False(store.Find(Key(2))!.Pinned);
        Assert.Equal(1, store.Summary().PinnedEntries);
    }

    [Fact]
    public void An_insert_that_does_not_fit_beside_the_pinned_entries_is_not_stored_and_evicts_nothing()
    {
        var store = Store();
        for (int i = 0; i < 3; i++)
        {
            Save(store, i);
            store.SetPinned(Key(i), true);
        }
        Assert.False(Save(store, 3));
        Assert.Null(store.Find(Key(3)));
        Assert.Equal(3, store.List().Count);
        Assert.Equal(0, store.Summary().Evictions);
        Assert.Contains(_log, m => m.Contains("pinned entries take", StringComparison.Ordinal) && m.Contains(Key(3), StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(store.Directory, ".tmp")));
    }

    [Fact]
    public void A_rebuild_of_a_pinned_entry_stays_pinned()
    {
        var store = Store();
        Save(store, 0);
        store.SetPinned(Key(0), true);
        Assert.True(Save(store, 0));
        Assert.True(store.Find(Key(0))!.Pinned);
    }

    [Fact]
    public void A_pinned_entry_found_corrupt_is_rebuilt_pinned()
    {
        // The lookup removed the damaged entry, pin and all, and the rebuild stored it unpinned: evictable again.
        string cache = _dir.File("cache");
        var settings = new Conversion.ConversionSettings { CacheDirectory = cache, OptimizationLevel = 0 };
        string model = Path.Combine(TestPaths.ExampleModels, "tiny_mlp.onnx");
        string key;
        using (var built = Conversion.EngineConverter.Convert(model, settings)) key = built.CacheKey!;
        var store = new DiskEngineStore(cache);
        Assert.True(store.SetPinned(key, true));
        string plan = Path.Combine(store.Find(key)!.Path, "plan.trtp");
        byte[] bytes = File.ReadAllBytes(plan);
        bytes[^1] ^= 1;
        File.WriteAllBytes(plan, bytes);
        using (var rebuilt = Conversion.EngineConverter.Convert(model, settings)) Assert.False(rebuilt.FromCache);
        Assert.Equal("Ok", store.Check(store.Find(key)!)!.Status);
        Assert.True(store.Find(key)!.Pinned);
    }

    [Fact]
    public void Removal_that_respects_pins_keeps_a_pinned_entry_and_a_forced_one_removes_it()
    {
        var store = Store();
        Save(store, 0);
        Assert.True(store.SetPinned(Key(0), true));
        Assert.Equal(CacheRemoval.Pinned, store.Remove(Key(0), includePinned: false));
        Assert.NotNull(store.Find(Key(0)));
        Assert.True(store.SetPinned(Key(0), false));
        Assert.False(store.Find(Key(0))!.Pinned);
        Assert.True(store.SetPinned(Key(0), true));
        Assert.Equal(CacheRemoval.Removed, store.Remove(Key(0), includePinned: true));
        Assert.Equal(CacheRemoval.NotFound, store.Remove(Key(0), includePinned: true));
        Assert.False(store.SetPinned(Key(0), true));
        Assert.False(store.SetPinned(Key(0), false));
    }

    [Fact]
    public void A_pinned_entry_verifies_and_pinning_leaves_the_manifest_as_it_was()
    {
        var store = Store();
        Save(store, 0);
        string manifest = Path.Combine(store.Directory, Key(0), "manifest.json");
        byte[] before = File.ReadAllBytes(manifest);
        store.SetPinned(Key(0), true);
        Assert.Equal(before, File.ReadAllBytes(manifest));
        var check = Assert.Single(store.Check(TimeSpan.Zero));
        Assert.Equal("Ok", check.Status);
        Assert.True(store.TryLoad(Key(0)).IsHit);
    }

    [Fact]
    public async Task Pins_racing_with_evicting_inserts_are_never_lost_and_leave_every_entry_whole()
    {
        var store = Store();
        Save(store, 0);
        Assert.True(store.SetPinned(Key(0), true));
        int inserts = 0;
        var insert = Task.Run(() =>
        {
            // Each insert must evict an older entry; entry 0 is the oldest, so only its pin keeps it.
            for (int i = 1; i <= 100; i++)
                if (Save(store, i)) inserts++;
        });
        var pin = Task.Run(() =>
        {
            do
            {
                // While the pin holds, no eviction may take the entry.
                var entry = store.Find(Key(0));
                Assert.NotNull(entry);
                Assert.True(entry.Pinned);
                store.SetPinned(Key(0), false);
            }
            while (!insert.IsCompleted && store.SetPinned(Key(0), true)); // false: evicted while unpinned, the race is over
        });
        await Task.WhenAll(insert, pin);
        Assert.Equal(100, inserts);
        Assert.All(store.Check(TimeSpan.Zero), c => Assert.Equal("Ok", c.Status));
        Assert.True(store.List().Sum(e => e.SizeBytes) <= store.SizeLimit);
    }

    [Fact]
    public async Task A_pin_waits_for_an_eviction_in_progress_and_then_finds_the_entry_gone()
    {
        var store = Store();
        Save(store, 0);
        string entry = Path.Combine(store.Directory, Key(0));
        Task<bool> pin;
        // Play an evictor in another process: it holds the store lock, has seen entry 0 unpinned, and removes it.
        using (new FileStream(Path.Combine(store.Directory, ".locks", "store.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            pin = Task.Run(() => store.SetPinned(Key(0), true));
            await Task.WhenAny(pin, Task.Delay(200));
            Assert.False(pin.IsCompleted); // a pin never slips in between the eviction's look and its removal
            Directory.Move(entry, _dir.File("evicted"));
        }
        Assert.False(await pin);
        Assert.Null(store.Find(Key(0)));
    }
}
