using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>How a pool folds one more input vector into its accumulator (the windowed and the global pools).</summary>
internal interface IPoolCombine
{
    static abstract TV Combine<TOps, TV>(TV acc, TV v) where TOps : struct, IFloatVector<TV> where TV : struct;
}

/// <summary>The instruction's max, accumulator first, as the scalar paths order it, so NaN handling matches them.</summary>
internal readonly struct MaxCombine : IPoolCombine
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Combine<TOps, TV>(TV acc, TV v) where TOps : struct, IFloatVector<TV> where TV : struct => TOps.Max(acc, v);
}

internal readonly struct SumCombine : IPoolCombine
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Combine<TOps, TV>(TV acc, TV v) where TOps : struct, IFloatVector<TV> where TV : struct => TOps.Add(acc, v);
}
