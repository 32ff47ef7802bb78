using TrtEngine.Core.Cache;

namespace TrtEngine.Core.Conversion;

/// <summary>How to convert a model: its weights, input shapes, builder settings and cache use.</summary>
public sealed record ConversionSettings
{
    /// <summary>
    /// A safetensors or torch checkpoint with values for graph inputs that are weights (a model exported without
    /// parameters), or new values for its initializers.
    /// </summary>
    public string? WeightsPath { get; init; }

    /// <summary>
    /// The model name of each of <see cref="WeightsPath"/>'s tensor names (-NameMap); null leaves that tensor out. Asked
    /// on the calling thread, once per name.
    /// </summary>
    public Func<string, string?>? WeightNames { get; init; }

    /// <summary>Accept NaN and infinity in <see cref="WeightsPath"/>'s values (refused otherwise, as a refit refuses them).</summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>Static shapes by input name (min = opt = max).</summary>
    public IReadOnlyDictionary<string, int[]>? InputShapes { get; init; }

    public IReadOnlyDictionary<string, int[]>? MinShapes { get; init; }
    public IReadOnlyDictionary<string, int[]>? OptShapes { get; init; }
    public IReadOnlyDictionary<string, int[]>? MaxShapes { get; init; }

    public int OptimizationLevel { get; init; } = 3;
    public int? Threads { get; init; }

    /// <summary>Pull from and insert into the cache (on by default).</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>Rebuild even on a hit, and replace the entry.</summary>
    public bool Force { get; init; }

    /// <summary>Return the engine without weights (the cache stores stripped engines either way).</summary>
    public bool StripWeights { get; init; }

    /// <summary>The store to use; by default a disk store in <see cref="CacheDirectory"/>.</summary>
    public IEngineStore? Store { get; init; }

    public string? CacheDirectory { get; init; }

    /// <summary>
    /// A file of tactic timings shared by builds, so layers already timed on this machine are not timed again.
    /// By default timing.cache in the cache directory when the cache is used; none with -NoCache.
    /// </summary>
    public string? TimingCachePath { get; init; }
    /// <summary>Bytes the cache may take on disk; null for the configured limit (Set-TrtCacheOption, else 5 GiB).</summary>
    public long? CacheSizeLimit { get; init; }
}
