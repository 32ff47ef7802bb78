namespace TrtEngine.Core.Onnx;

/// <summary>
/// An integer (or bool) tensor known at import: shape arithmetic folded from constants and static dims.
/// <see cref="Unknown"/> marks an element only the run time knows (a dynamic dim read by Shape).
/// </summary>
internal sealed record IntegerTensor(int[] Dims, long[] Values)
{
    /// <summary>
    /// A value no exporter writes: open slice ends are written as ±(2⁶³ − 1), −2⁶³ or ±(2³¹ − 1) (torch's flip as
    /// −(2⁶³ − 1)), and dims are below 2³¹.
    /// </summary>
    public const long Unknown = long.MinValue + 0x2545_F491_4F6C_DD1D;

    public static IntegerTensor Vector(long[] values) => new([values.Length], values);

    public bool IsKnown => !Values.Contains(Unknown);
}
