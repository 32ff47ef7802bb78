namespace TrtEngine.Native.Refit;

/// <summary>New values for one model weight: its shape and float32 data.</summary>
/// <param name="Immutable">
/// Nothing changes <paramref name="Data"/> after it is handed over (values just read from a file, or another engine's
/// model weights): a refit keeps the array itself. Otherwise it keeps a copy, so the caller may reuse its arrays.
/// </param>
public sealed record WeightValue(int[] Shape, float[] Data, bool Immutable = false);
