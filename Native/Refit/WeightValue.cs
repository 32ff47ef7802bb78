namespace TrtEngine.Native.Refit;

/// <summary>New values for one model weight: its shape and float32 data.</summary>
/// <param name="Immutable">
/// Nothing changes <paramref name="Data"/> after it is handed over (values just read from a file, or another engine's
/// model weights): a refit keeps the array itself. Otherwise it keeps a copy, so the caller may reuse its arrays.
/// </param>
/// <param name="IntegerType">
/// Null for floating-point values; otherwise the integer type the source stored them as ("I64", "I32"). An engine's
/// weights are float32, so a refit refuses integers under a weight's name and ignores them under any other (a torch
/// state dict's BatchNorm step counters).
/// </param>
/// <param name="Tie">
/// Shared by the names of one tensor in a source (a torch checkpoint's tied weights: one storage shown alike under
/// several names), null otherwise. A refit leaves out such a name that is not a weight when another name of the same
/// tie is given as one: it can hold no other values.
/// </param>
public sealed record WeightValue(int[] Shape, float[] Data, bool Immutable = false, string? IntegerType = null, object? Tie = null);
