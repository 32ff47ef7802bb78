using TrtEngine.Core.Cache;

namespace TrtEngine.Core.Tests.Cache;

/// <summary>
/// Test-TrtCache beside processes that write: an entry being replaced or removed, and the temporary directories of those
/// writes, are neither reported broken nor removed by a repair.
/// </summary>
public sealed class CacheCheckWhileWritingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Key(int i) => i.ToString("x", System.Globalization.CultureInfo.InvariantCulture).PadLeft(CacheKey.Length, 'c');

    private static void Save(DiskEngineStore store, int i) =>
        store.Save(Key(i), new byte[3000], new CacheManifest { ModelName = $"m{i}", PlanFormat = Native.Plan.EnginePlan.FormatVersion, InstructionSet = Native.Plan.HardwareInfo.CurrentInstructionSet });

    [Fact]
    public async Task Entries_rebuilt_and_removed_meanwhile_are_never_reported_broken_or_repaired()
    {
        var store = new DiskEngineStore(_dir.File("cache"));
        Save(store, 0);
        // Another store object, as another process has: entry 0 rebuilt over and over, entry 1 saved and removed.
        var writer = Task.Run(() =>
        {
            var other = new DiskEngineStore(_dir.File("cache"));
            for (int i = 0; i < 300; i++)
            {
                Save(other, 0);
                if (i % 2 == 0) Save(other, 1);
                else other.Remove(Key(1));
            }
        });
        int checks = 0;
        while (!writer.IsCompleted)
        {
            foreach (var check in store.Check(TimeSpan.FromMinutes(1)))
            {
                Assert.True(check.IsHealthy, $"{check.Status} {check.Path}: {check.Problem}");
                store.Repair(check);
                Assert.False(check.Repaired);
                checks++;
            }
            // Found, or (between the old directory's move and the new one's) absent, but never an error, while it is replaced.
            store.Find(Key(0));
        }
        await writer;
        Assert.True(checks > 0);
        Assert.NotNull(store.Find(Key(0)));
    }

    [Fact]
    public void A_repair_leaves_an_entry_rebuilt_since_the_check_found_it_broken()
    {
        var store = new DiskEngineStore(_dir.File("cache"));
        Save(store, 0);
        string plan = Path.Combine(store.Find(Key(0))!.Path, "plan.trtp");
        byte[] bytes = File.ReadAllBytes(plan);
        bytes[^1] ^= 1;
        File.WriteAllBytes(plan, bytes);
        var check = Assert.Single(store.Check(TimeSpan.Zero));
        Assert.Equal("Corrupt", check.Status);
        Save(store, 0); // a hit elsewhere found it broken and rebuilt it
        store.Repair(check);
        Assert.False(check.Repaired);
        Assert.Equal("Ok", Assert.Single(store.Check(TimeSpan.Zero)).Status);
    }
}
