using System.Runtime.Intrinsics;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The three transforms of one Winograd algorithm F(m×m, 3×3): an InputTile × InputTile input tile d gives an m×m
/// output tile Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A. Every transform runs on vectors of lanes (channels, or a panel's output
/// channels for the weight); the 2-D input and output transforms are two passes of the 1-D one, rows then columns.
/// Implemented by structs, so the kernels are compiled once per algorithm with the transforms inlined.
/// </summary>
internal unsafe interface IWinogradTransform
{
    /// <summary>Output rows and columns per tile (m).</summary>
    static abstract int Tile { get; }

    /// <summary>Input rows and columns per tile (m + 2).</summary>
    static abstract int InputTile { get; }

    /// <summary>Bᵀ applied to InputTile vectors at src + j·step, written as InputTile vectors at dst + i·dstStep.</summary>
    static abstract void InputPass<TOps, TV>(float* src, nint step, float* dst, nint dstStep)
        where TOps : struct, IFloatVector<TV> where TV : struct;

    /// <summary>Aᵀ applied to InputTile vectors at src + j·step, written as Tile vectors at dst + i·dstStep.</summary>
    static abstract void OutputPass<TOps, TV>(float* src, nint step, float* dst, nint dstStep)
        where TOps : struct, IFloatVector<TV> where TV : struct;

    /// <summary>
    /// G·g·Gᵀ for the 3×3 kernel g whose tap t (row-major) is the vector at g + t·tapStep, position a·InputTile + i
    /// stored at u + (a·InputTile + i)·step. Plain multiplies and adds, never fused, so a refit re-derives it bit for bit.
    /// </summary>
    static abstract void KernelTransform<TOps, TV>(float* g, nint tapStep, float* u, nint step)
        where TOps : struct, IFloatVector<TV> where TV : struct;
}
