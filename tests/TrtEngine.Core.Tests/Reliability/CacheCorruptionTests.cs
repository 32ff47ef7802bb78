using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using TrtEngine.CacheWorker;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;
using Xunit.Abstractions;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// Random damage to cache entries: every damaged entry is detected (a miss with its reason), removed, rebuilt, and the
/// engine returned computes exactly what an engine built without the cache computes.
/// </summary>
public sealed class CacheCorruptionTests(ReliabilityModels models, ITestOutputHelper output) : IClassFixture<ReliabilityModels>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Kinds of damage; each returns true when the damage leaves a valid entry (then a hit is the right answer).</summary>
    private static readonly (string Name, Func<Damage, bool> Apply)[] Kinds =
    [
        ("truncate plan", d => d.WritePlan(d.Plan[..d.Random.Next(d.Plan.Length)])),
        ("flip bits in plan", d => d.WritePlan(Flip(d.Plan, d.Random, 1 + d.Random.Next(8)))),
        ("append to plan", d => d.WritePlan([.. d.Plan, .. RandomBytes(d.Random, 1 + d.Random.Next(64))])),
        ("zero-length plan", d => d.WritePlan([])),
        ("missing plan", d => d.Delete("plan.trtp")),
        ("plan of another key", d => d.WritePlan(d.OtherPlan)),
        ("plan of another key, manifest re-signed", d => d.Resign(d.OtherPlan)),
        ("plan of another format version, manifest re-signed", d => d.Resign(WithPlanVersion(d.Plan, d.Random.Next(2, 1000)))),
        ("flip a bit in manifest", d => d.WriteManifest(Flip(d.ManifestBytes, d.Random, 1))),
        ("truncate manifest", d => d.WriteManifest(d.ManifestBytes[..d.Random.Next(d.ManifestBytes.Length)])),
        ("zero-length manifest", d => d.WriteManifest([])),
        ("missing manifest", d => d.Delete("manifest.json")),
        ("manifest of another key", d => d.WriteManifest(d.OtherManifestBytes)),
        ("entry of another key", d => { d.WritePlan(d.OtherPlan); return d.WriteManifest(d.OtherManifestBytes); }),
        ("wrong entry format", d => d.Edit(m => m.EntryFormat = CacheManifest.CurrentEntryFormat + d.Random.Next(1, 100))),
        ("wrong plan format", d => d.Edit(m => m.PlanFormat += d.Random.Next(1, 100))),
        ("wrong plan size in manifest", d => d.Edit(m => m.PlanBytes += d.Random.Next(1, 100))),
        ("built for another machine", d => d.Edit(m => m.InstructionSet = "Neon")),
        ("missing access log", d => { d.Delete("access.log"); return true; }),
    ];

    [Fact]
    public void Damaged_entries_are_detected_reported_removed_and_rebuilt_with_the_right_outputs()
    {
        int trials = Soak.Trials(200, 1000);
        string pristine = _dir.File("pristine");
        var settings = new ConversionSettings { CacheDirectory = pristine, OptimizationLevel = 0 };
        string[] keys = models.Paths.Select(p => EngineConverter.Convert(p, settings).CacheKey!).ToArray();
        foreach (string p in models.Paths) Assert.True(EngineConverter.Convert(p, settings).FromCache); // each entry gets an access log

        var random = new Random(20261128);
        var outcomes = new Dictionary<string, int>();
        var reasons = new SortedSet<string>();
        int detected = 0, harmless = 0;
        for (int trial = 0; trial < trials; trial++)
        {
            int target = random.Next(keys.Length), other = (target + 1 + random.Next(keys.Length - 1)) % keys.Length;
            string cache = _dir.File($"t{trial}");
            foreach (string key in keys) CopyDirectory(Path.Combine(pristine, key), Path.Combine(cache, key));
            var (name, apply) = Kinds[random.Next(Kinds.Length)];
            bool valid = apply(new Damage(Path.Combine(cache, keys[target]), Path.Combine(cache, keys[other]), random));

            var events = new RecordingEvents();
            var engine = EngineConverter.Convert(models.Paths[target], settings with { CacheDirectory = cache }, events);
            string context = $"trial {trial}: {name} on {Path.GetFileName(models.Paths[target])}";
            Assert.True(models.Digests[target] == WorkerIO.OutputDigest(engine), $"{context}: wrong outputs");
            if (valid)
            {
                Assert.True(engine.FromCache, $"{context}: an intact entry was not used");
                harmless++;
            }
            else
            {
                Assert.False(engine.FromCache, $"{context}: the damage was not detected");
                string miss = Assert.Single(events.Messages, m => m.StartsWith("Cache miss: ", StringComparison.Ordinal));
                Assert.DoesNotContain("no entry for this key", miss);
                Assert.Contains("removed", miss);
                reasons.Add(Reason(miss));
                detected++;
            }
            var checks = new DiskEngineStore(cache).Check(TimeSpan.Zero);
            Assert.True(checks.Count == keys.Length && checks.All(c => c.IsHealthy), $"{context}: after the conversion: {string.Join("; ", checks.Select(c => c.Status + " " + c.Problem))}");
            var again = EngineConverter.Convert(models.Paths[target], settings with { CacheDirectory = cache });
            Assert.True(again.FromCache && WorkerIO.OutputDigest(again) == models.Digests[target], $"{context}: the rebuilt entry is not a correct hit");
            outcomes[name] = outcomes.GetValueOrDefault(name) + 1;
            Directory.Delete(cache, recursive: true);
        }
        Assert.Equal(trials, detected + harmless);
        Soak.Report(output, "corruption", $"{trials} trials: {detected} damaged entries detected, reported, removed and rebuilt with bit-identical outputs; " +
            $"{harmless} left a valid entry (hit, bit-identical); 0 failures. Damage: {string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}"))}. " +
            $"Reasons seen: {string.Join(" | ", reasons)}");
    }

    /// <summary>The reason of a miss without its numbers, so the summary lists each kind once.</summary>
    private static string Reason(string miss) =>
        System.Text.RegularExpressions.Regex.Replace(miss["Cache miss: ".Length..].Split([" (", "; the entry was removed"], StringSplitOptions.None)[0], @"\d+|key [0-9a-f]+|for \w+", "…");

    private static byte[] Flip(byte[] bytes, Random random, int bits)
    {
        byte[] copy = (byte[])bytes.Clone();
        for (int i = 0; i < bits; i++) copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>The plan with another format version in its header and its checksum still right (a plan another release wrote).</summary>
    private static byte[] WithPlanVersion(byte[] plan, int offset)
    {
        byte[] copy = (byte[])plan.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(8), BinaryPrimitives.ReadInt32LittleEndian(copy.AsSpan(8)) + offset);
        return copy;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    /// <summary>One entry to damage, with another entry of the same cache to take parts from.</summary>
    private sealed class Damage(string entry, string otherEntry, Random random)
    {
        public Random Random { get; } = random;
        public byte[] Plan { get; } = File.ReadAllBytes(Path.Combine(entry, "plan.trtp"));
        public byte[] OtherPlan { get; } = File.ReadAllBytes(Path.Combine(otherEntry, "plan.trtp"));
        public byte[] ManifestBytes { get; } = File.ReadAllBytes(Path.Combine(entry, "manifest.json"));
        public byte[] OtherManifestBytes { get; } = File.ReadAllBytes(Path.Combine(otherEntry, "manifest.json"));

        public bool WritePlan(byte[] bytes)
        {
            File.WriteAllBytes(Path.Combine(entry, "plan.trtp"), bytes);
            return false;
        }

        /// <summary>Writes manifest bytes; they leave the entry valid only if they still say exactly what the original says.</summary>
        public bool WriteManifest(byte[] bytes)
        {
            File.WriteAllBytes(Path.Combine(entry, "manifest.json"), bytes);
            try
            {
                var original = Parse(ManifestBytes);
                var damaged = Parse(bytes);
                return damaged is not null && damaged.Checksum == original!.Checksum && damaged.ComputeChecksum() == original.Checksum;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        public bool Delete(string file)
        {
            File.Delete(Path.Combine(entry, file));
            return false;
        }

        /// <summary>Changes a manifest field and signs the manifest again, so only the field's meaning can give it away.</summary>
        public bool Edit(Action<CacheManifest> change)
        {
            var manifest = Parse(ManifestBytes)!;
            change(manifest);
            manifest.Checksum = manifest.ComputeChecksum();
            File.WriteAllBytes(Path.Combine(entry, "manifest.json"), JsonSerializer.SerializeToUtf8Bytes(manifest, CacheManifest.Json));
            return false;
        }

        /// <summary>Replaces the plan and makes the manifest agree with it (size, checksum), as a careless copy tool would.</summary>
        public bool Resign(byte[] plan)
        {
            WritePlan(plan);
            return Edit(m =>
            {
                m.PlanBytes = plan.Length;
                m.PlanSha256 = Convert.ToHexString(SHA256.HashData(plan));
            });
        }

        private static CacheManifest? Parse(byte[] bytes) => JsonSerializer.Deserialize<CacheManifest>(bytes, CacheManifest.Json);
    }
}
