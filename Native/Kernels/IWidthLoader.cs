using System.Runtime.Intrinsics;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Loads the inputs of 8 consecutive outputs of a window row at one tap: x[iw + s·k] for k in 0..7 (stride s).
/// Kernels are generic over the loader so the JIT emits one specialised loop per stride. A loader may return
/// lanes in its own order; <see cref="Order"/> restores output order after accumulation (order-free ops only).
/// </summary>
internal unsafe interface IWidthLoader
{
    static abstract int Stride { get; }

    /// <summary>Reads x[0 .. ReadSpan); the caller guarantees all of it lies inside the row.</summary>
    static abstract int ReadSpan { get; }

    static abstract Vector256<float> Load(float* x);

    /// <summary>Like <see cref="Load"/> for x = row + iw, zero in lanes whose position is outside [0, width);
    /// <paramref name="valid"/> is all-ones in the lanes that were inside (same lane order).</summary>
    static abstract Vector256<float> LoadMasked(float* row, int iw, int width, out Vector256<float> valid);

    static abstract Vector256<float> Order(Vector256<float> accumulated);
}
