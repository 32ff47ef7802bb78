using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>How a pool folds one more input vector into its accumulator (the windowed and the global pools).</summary>
internal interface IPoolCombine
{
    static abstract TV Combine<TOps, TV>(TV acc, TV v) where TOps : struct, IFloatVector<TV> where TV : struct;
}

/// <summary>
/// The max, NaN from either side kept, as the scalar paths' (a NaN anywhere in the window gives NaN). The instruction
/// alone returns its second operand where either is NaN: a NaN accumulator was replaced by the next value, so a window
/// gave the max of the values after its last NaN ([5, NaN, 1] → 1).
/// </summary>
internal readonly struct MaxCombine : IPoolCombine
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Combine<TOps, TV>(TV acc, TV v) where TOps : struct, IFloatVector<TV> where TV : struct => TOps.KeepNaN(acc, TOps.Max(acc, v));
}

internal readonly struct SumCombine : IPoolCombine
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Combine<TOps, TV>(TV acc, TV v) where TOps : struct, IFloatVector<TV> where TV : struct => TOps.Add(acc, v);
}
