using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Plan;

/// <summary>The facts a tactic timing depends on: the instruction set the kernels use and the thread count.</summary>
public sealed record HardwareInfo(string InstructionSet, int Threads)
{
    public static string CurrentInstructionSet { get; } =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? "avx512f" :
        Fma.IsSupported && Avx2.IsSupported ? "avx2-fma" :
        Vector128.IsHardwareAccelerated ? "sse/neon" : "scalar";

    public static HardwareInfo Current(int threads) => new(CurrentInstructionSet, threads);

    /// <summary>
    /// Bytes of this machine's last-level cache (Linux reports it in sysfs; elsewhere, or if unreadable, 32 MiB: the L3
    /// of one chiplet of the current server CPUs).
    /// </summary>
    public static long LastLevelCacheBytes { get; } = ReadLastLevelCache() ?? 32L << 20;

    private static long? ReadLastLevelCache()
    {
        const string caches = "/sys/devices/system/cpu/cpu0/cache";
        try
        {
            if (!Directory.Exists(caches)) return null;
            long? best = null;
            int bestLevel = 0;
            foreach (string index in Directory.EnumerateDirectories(caches, "index*"))
            {
                int level = int.Parse(File.ReadAllText(Path.Combine(index, "level")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                string size = File.ReadAllText(Path.Combine(index, "size")).Trim();
                long bytes = size.EndsWith('K') ? long.Parse(size[..^1], System.Globalization.CultureInfo.InvariantCulture) << 10
                    : size.EndsWith('M') ? long.Parse(size[..^1], System.Globalization.CultureInfo.InvariantCulture) << 20
                    : long.Parse(size, System.Globalization.CultureInfo.InvariantCulture);
                if (level > bestLevel) (best, bestLevel) = (bytes, level);
            }
            return best;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    public override string ToString() => $"{InstructionSet}, {Threads} threads";
}
