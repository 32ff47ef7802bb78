using System.Text.Json;

namespace TrtEngine.Core.Cache;

/// <summary>
/// Resolves the cache directory and size limit: $TRTENGINE_CACHE_DIR, then the per-user settings file that
/// Set-TrtCacheOption writes, then the platform's per-user cache folder and 5 GiB.
/// </summary>
public static class CacheOptions
{
    public const long DefaultSizeLimit = 5L << 30;

    private sealed class SettingsFile
    {
        public string? CacheDirectory { get; set; }
        public long? SizeLimitBytes { get; set; }
    }

    /// <summary>$TRTENGINE_CONFIG_DIR/settings.json, else settings.json in the platform's per-user configuration folder.</summary>
    public static string SettingsPath
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("TRTENGINE_CONFIG_DIR");
            if (!string.IsNullOrWhiteSpace(env)) return Path.Combine(Path.GetFullPath(env), "settings.json");
            string config = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()
                ? Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData)
                : Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
            return Path.Combine(config, OperatingSystem.IsLinux() ? "trtengine" : "TrtEngine", "settings.json");
        }
    }

    public static TrtCacheOptions Current()
    {
        var settings = Load();
        string? env = Environment.GetEnvironmentVariable("TRTENGINE_CACHE_DIR");
        var (directory, source) = !string.IsNullOrWhiteSpace(env) ? (Path.GetFullPath(env), "TRTENGINE_CACHE_DIR")
            : settings.CacheDirectory is { Length: > 0 } configured ? (configured, "Settings")
            : (PlatformDirectory, "Default");
        return new TrtCacheOptions
        {
            CacheDirectory = directory,
            CacheDirectorySource = source,
            SizeLimitBytes = settings.SizeLimitBytes ?? DefaultSizeLimit,
            SizeLimitSource = settings.SizeLimitBytes is null ? "Default" : "Settings",
            SettingsPath = SettingsPath,
        };
    }

    /// <summary>Changes the persistent settings (a null leaves a value as it is), written atomically.</summary>
    public static void Save(string? cacheDirectory, long? sizeLimitBytes)
    {
        if (sizeLimitBytes is <= 0) throw new ArgumentOutOfRangeException(nameof(sizeLimitBytes), sizeLimitBytes, "The cache size limit must be positive.");
        var settings = Load();
        if (cacheDirectory is not null) settings.CacheDirectory = Path.GetFullPath(cacheDirectory);
        if (sizeLimitBytes is not null) settings.SizeLimitBytes = sizeLimitBytes;
        string path = SettingsPath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(settings, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temp, path, overwrite: true);
    }

    private static SettingsFile Load()
    {
        string path = SettingsPath;
        if (!File.Exists(path)) return new SettingsFile();
        try
        {
            return JsonSerializer.Deserialize<SettingsFile>(File.ReadAllBytes(path)) ?? new SettingsFile();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The TrtEngine settings file '{path}' is not valid JSON ({e.Message}). Fix or delete it, or set the options again with Set-TrtCacheOption.", e);
        }
    }

    private static string PlatformDirectory
    {
        get
        {
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (OperatingSystem.IsWindows()) return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "TrtEngine", "Cache");
            if (OperatingSystem.IsMacOS()) return Path.Combine(home, "Library", "Caches", "TrtEngine");
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".cache") : xdg, "trtengine");
        }
    }
}
