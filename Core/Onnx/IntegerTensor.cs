namespace TrtEngine.Core.Onnx;

/// <summary>
/// An integer (or bool) tensor known at import: shape arithmetic folded from constants and static dims.
/// <see cref="Unknown"/> marks an element only the run time knows (a dynamic dim read by Shape).
/// </summary>
internal sealed record IntegerTensor(int[] Dims, long[] Values)
{
    /// <summary>Exporters write long.MinValue and long.MaxValue as open slice ends, so neither can mark an unknown.</summary>
    public const long Unknown = long.MinValue + 1;

    public static IntegerTensor Vector(long[] values) => new([values.Length], values);

    public bool IsKnown => !Values.Contains(Unknown);
}
