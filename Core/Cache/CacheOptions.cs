using System.Text.Json;

namespace TrtEngine.Core.Cache;

/// <summary>
/// Resolves the cache directory and size limit: $TRTENGINE_CACHE_DIR, then the per-user settings file that
/// Set-TrtCacheOption writes, then the platform's per-user cache folder and 5 GiB. The settings file is read only for
/// what it is needed for, so a damaged one stops only what depends on it, and saving replaces it.
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
        var (directory, source) = ResolveDirectory(() => settings);
        return new TrtCacheOptions
        {
            CacheDirectory = directory,
            CacheDirectorySource = source,
            SizeLimitBytes = settings.SizeLimitBytes ?? DefaultSizeLimit,
            SizeLimitSource = settings.SizeLimitBytes is null ? "Default" : "Settings",
            SettingsPath = SettingsPath,
        };
    }

    /// <summary>The cache directory in force, as <see cref="Current"/> gives it; the settings file is not read when $TRTENGINE_CACHE_DIR is set.</summary>
    public static string CurrentDirectory() => ResolveDirectory(Load).Directory;

    /// <summary>The size limit in force, as <see cref="Current"/> gives it.</summary>
    public static long CurrentSizeLimit() => Load().SizeLimitBytes ?? DefaultSizeLimit;

    private static (string Directory, string Source) ResolveDirectory(Func<SettingsFile> settings)
    {
        string? env = Environment.GetEnvironmentVariable("TRTENGINE_CACHE_DIR");
        return !string.IsNullOrWhiteSpace(env) ? (Path.GetFullPath(env), "TRTENGINE_CACHE_DIR")
            : settings().CacheDirectory is { Length: > 0 } configured ? (configured, "Settings")
            : (PlatformDirectory, "Default");
    }

    /// <summary>
    /// Changes the persistent settings (a null leaves a value as it is), written atomically. A damaged settings file
    /// (the one thing that would otherwise stop every cache command) is replaced by one holding the values given, once a
    /// copy of it is kept beside it (settings.json.damaged-{UTC time}).
    /// </summary>
    /// <returns>The path of the copy of a damaged settings file; null when there was none.</returns>
    public static string? Save(string? cacheDirectory, long? sizeLimitBytes)
    {
        if (sizeLimitBytes is <= 0) throw new ArgumentOutOfRangeException(nameof(sizeLimitBytes), sizeLimitBytes, "The cache size limit must be positive.");
        return Change(settings =>
        {
            if (cacheDirectory is not null) settings.CacheDirectory = Path.GetFullPath(cacheDirectory);
            if (sizeLimitBytes is not null) settings.SizeLimitBytes = sizeLimitBytes;
        });
    }

    /// <summary>
    /// Forgets the saved cache directory and/or size limit, so that their defaults apply again; written as
    /// <see cref="Save"/> writes (a damaged file is replaced, its copy kept). Nothing is written when no file exists.
    /// </summary>
    /// <returns>The path of the copy of a damaged settings file; null when there was none.</returns>
    public static string? Reset(bool cacheDirectory, bool sizeLimit) =>
        // A folder in the file's place is not "no settings": the write then fails, as Save's does, and says why.
        !File.Exists(SettingsPath) && !Directory.Exists(SettingsPath) ? null : Change(settings =>
        {
            if (cacheDirectory) settings.CacheDirectory = null;
            if (sizeLimit) settings.SizeLimitBytes = null;
        });

    private static string? Change(Action<SettingsFile> change)
    {
        string path = SettingsPath;
        SettingsFile settings;
        string? damaged = null;
        try
        {
            settings = Load();
        }
        catch (InvalidDataException)
        {
            settings = new SettingsFile();
            damaged = $"{path}.damaged-{DateTime.UtcNow:yyyyMMdd'T'HHmmssfff'Z'}";
        }
        change(settings);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(settings, new JsonSerializerOptions { WriteIndented = true }));
            // Copied before it is replaced: a failure at any step loses neither the damaged file nor a sound one.
            if (damaged is not null) File.Copy(path, damaged);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        return damaged;
    }

    private static SettingsFile Load()
    {
        string path = SettingsPath;
        if (!File.Exists(path)) return new SettingsFile();
        const string Fix = "Set the options again with Set-TrtCacheOption, or go back to the defaults with Reset-TrtCacheOption (each replaces the file, keeping a copy of this one beside it), or fix or delete the file.";
        SettingsFile? settings;
        try
        {
            settings = JsonSerializer.Deserialize<SettingsFile>(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The TrtEngine settings file '{path}' is damaged: it is not valid JSON ({e.Message}). {Fix}", e);
        }
        if (settings?.SizeLimitBytes is <= 0)
            throw new InvalidDataException($"The TrtEngine settings file '{path}' is damaged: its cache size limit is {settings.SizeLimitBytes} bytes, which is not positive. {Fix}");
        return settings ?? new SettingsFile();
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
