using System.Text.Json;
using TrtEngine.CacheWorker;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// Keys and names from users or from the cache never reach outside the cache directory, links inside it are never
/// followed, what the cache creates is the user's only, and nothing in an entry is executed.
/// </summary>
public sealed class CacheSecurityTests(ReliabilityModels models) : IClassFixture<ReliabilityModels>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir.File("cache");

    private ConversionSettings Settings => new() { CacheDirectory = Cache, OptimizationLevel = 2 };

    private string Build(int model) => EngineConverter.Convert(models.Paths[model], Settings).CacheKey!;

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_cache_directory_and_everything_in_it_are_created_for_the_user_only()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix permissions");
        // The convolution's timing writes the timing cache (tiny_mlp's one-row GEMMs keep their weights' rows, untimed).
        Build(2);
        Assert.True(EngineConverter.Convert(models.Paths[2], Settings).FromCache); // an access log and a hit counter
        var items = Directory.EnumerateFileSystemEntries(Cache, "*", SearchOption.AllDirectories).Append(Cache).ToList();
        Assert.Contains(items, i => i.EndsWith("timing.cache", StringComparison.Ordinal));
        Assert.Contains(items, i => i.EndsWith("access.log", StringComparison.Ordinal));
        Assert.Contains(items, i => i.EndsWith(".lock", StringComparison.Ordinal));
        foreach (string item in items)
        {
            var expected = Directory.Exists(item) ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute : UnixFileMode.UserRead | UnixFileMode.UserWrite;
            Assert.True(File.GetUnixFileMode(item) == expected, $"{item} is {File.GetUnixFileMode(item)}");
        }
    }

    [Theory]
    [InlineData("../../../../etc")]
    [InlineData("..")]
    [InlineData("/tmp")]
    [InlineData("0123456789abcdef0123456789abcdef0123456/")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF01234567")]
    [InlineData("../0123456789abcdef0123456789abcdef012345")]
    public void Keys_that_are_not_keys_are_refused_by_every_store_operation(string key)
    {
        var store = new DiskEngineStore(Cache);
        Assert.Throws<ArgumentException>(() => store.TryLoad(key));
        Assert.Throws<ArgumentException>(() => store.Remove(key));
        Assert.Throws<ArgumentException>(() => store.RecordHit(key));
        Assert.Throws<ArgumentException>(() => store.AcquireBuildLock(key, default));
        Assert.Throws<ArgumentException>(() => store.Save(key, [1, 2, 3], new CacheManifest()));
        Assert.False(Directory.Exists(Cache) && Directory.EnumerateDirectories(Cache).Any(d => !Path.GetFileName(d).StartsWith('.')));
    }

    [Fact]
    public void Names_and_paths_inside_a_manifest_are_never_used_as_paths()
    {
        string key = Build(0);
        string outside = _dir.File("outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "keep.txt"), "precious");
        string manifestPath = Path.Combine(Cache, key, "manifest.json");
        var manifest = JsonSerializer.Deserialize<CacheManifest>(File.ReadAllBytes(manifestPath), CacheManifest.Json)!;
        manifest.Key = "../outside";
        manifest.ModelName = "../../outside/keep.txt";
        manifest.ModelPath = Path.Combine(outside, "keep.txt");
        manifest.Checksum = manifest.ComputeChecksum();
        File.WriteAllBytes(manifestPath, JsonSerializer.SerializeToUtf8Bytes(manifest, CacheManifest.Json));

        var store = new DiskEngineStore(Cache);
        Assert.Equal("../../outside/keep.txt", Assert.Single(store.List()).ModelName);
        foreach (var check in store.Check(TimeSpan.Zero)) store.Repair(check);
        var engine = EngineConverter.Convert(models.Paths[0], Settings);
        Assert.Equal(models.Digests[0], WorkerIO.OutputDigest(engine));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(outside, "keep.txt")));
        Assert.Throws<ArgumentException>(() => store.Repair(new TrtCacheCheck { Key = null, ModelName = null, CacheDirectory = Cache, Path = Path.Combine(Cache, ".tmp", "..", "..", "outside"), Status = "Orphaned", Problem = "forged" }));
        Assert.True(Directory.Exists(outside));
    }

    [SkippableFact]
    public void An_entry_that_is_a_link_is_refused_and_removing_it_removes_only_the_link()
    {
        string key = Build(0);
        string outside = _dir.File("outside");
        Directory.Move(Path.Combine(Cache, key), outside); // a valid entry, but outside the cache
        Directory.CreateSymbolicLink(Path.Combine(Cache, key), outside);

        var events = new RecordingEvents();
        var engine = EngineConverter.Convert(models.Paths[0], Settings, events);
        Assert.False(engine.FromCache);
        Assert.Contains(events.Messages, m => m.Contains("the entry is a link"));
        Assert.Equal(models.Digests[0], WorkerIO.OutputDigest(engine));
        Assert.Equal(3, Directory.GetFiles(outside).Length - (File.Exists(Path.Combine(outside, "access.log")) ? 1 : 0) + 1);
        Assert.True(File.Exists(Path.Combine(outside, "plan.trtp")) && File.Exists(Path.Combine(outside, "manifest.json")));
        Assert.Null(new DirectoryInfo(Path.Combine(Cache, key)).LinkTarget); // rebuilt as a real directory
    }

    [Fact]
    public void A_file_in_an_entry_that_is_a_link_is_refused_and_its_target_survives()
    {
        string key = Build(0);
        string secret = _dir.File("secret.bin");
        File.Copy(Path.Combine(Cache, key, "plan.trtp"), secret); // the right bytes, reached through a link
        File.Delete(Path.Combine(Cache, key, "plan.trtp"));
        File.CreateSymbolicLink(Path.Combine(Cache, key, "plan.trtp"), secret);

        var checks = new DiskEngineStore(Cache).Check(TimeSpan.Zero);
        Assert.Equal("corrupt entry: plan.trtp is a link", Assert.Single(checks).Problem);
        new DiskEngineStore(Cache).Repair(checks[0]);
        Assert.True(File.Exists(secret));
        Assert.Empty(new DiskEngineStore(Cache).List());
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Nothing_in_an_entry_is_executed()
    {
        Skip.If(OperatingSystem.IsWindows(), "shell scripts");
        string key = Build(0);
        string marker = _dir.File("executed");
        string script = $"#!/bin/sh\ntouch '{marker}'\n";
        var executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        // Names the store writes: it removes an entry holding anything else only by hand (CacheForeignFilesTests).
        foreach (string name in new[] { "plan.trtp", "access.log", "manifest.json" })
        {
            string path = Path.Combine(Cache, key, name);
            File.WriteAllText(path, script);
            File.SetUnixFileMode(path, executable);
        }
        var store = new DiskEngineStore(Cache);
        store.List();
        foreach (var check in store.Check(TimeSpan.Zero)) store.Repair(check);
        Build(0);
        var engine = EngineConverter.Convert(models.Paths[0], Settings);
        Assert.True(engine.FromCache);
        Assert.False(File.Exists(marker), "a file of the entry was executed");
    }
}
