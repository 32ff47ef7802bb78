namespace TrtEngine.Core.Cache;

/// <summary>
/// What a conversion resolved to, kept for the next conversion of the same model file with the same settings: the
/// cache key and the weight bytes of its engine (whether a refit of it is worth preparing beside the parse).
/// </summary>
public sealed record CacheHint(string Key, long WeightBytes);
