using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>Interleaves channel groups (ShuffleNet's channel shuffle) in either memory layout.</summary>
public static unsafe class ChannelShuffleKernels
{
    /// <summary>
    /// y[o, j·g + i, q] = sources[i][o · sourceStride + j · inner + q] for o &lt; outer, j &lt; count, i &lt; g, q &lt; inner.
    /// Channels-last memory is inner = 1 with one outer step per pixel; NCHW is inner = H·W with one outer step per image.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Interleave(ReadOnlySpan<nint> sources, nint sourceStride, float* y, nint outer, int count, nint inner)
    {
        int groups = sources.Length;
        nint block = inner * sizeof(float);
        for (nint o = 0; o < outer; o++)
        {
            nint offset = o * sourceStride;
            if (inner > 1)
            {
                for (int j = 0; j < count; j++)
                    for (int i = 0; i < groups; i++, y += inner)
                        CopyKernels.CopyBytes((float*)sources[i] + offset + j * inner, y, block);
            }
            else if (groups == 2)
            {
                InterleavePair((float*)sources[0] + offset, (float*)sources[1] + offset, y, count);
                y += 2 * count;
            }
            else
            {
                for (int j = 0; j < count; j++)
                    for (int i = 0; i < groups; i++)
                        *y++ = ((float*)sources[i])[offset + j];
            }
        }
    }

    /// <summary>y[2j] = a[j], y[2j + 1] = b[j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InterleavePair(float* a, float* b, float* y, int count)
    {
        int j = 0;
        if (Avx.IsSupported)
            for (; j <= count - 8; j += 8)
            {
                var va = Avx.LoadVector256(a + j);
                var vb = Avx.LoadVector256(b + j);
                // Unpack pairs within each 128-bit half, then put the halves in order.
                var low = Avx.UnpackLow(va, vb);
                var high = Avx.UnpackHigh(va, vb);
                Avx.Store(y + 2 * j, Avx.Permute2x128(low, high, 0x20));
                Avx.Store(y + 2 * j + 8, Avx.Permute2x128(low, high, 0x31));
            }
        for (; j < count; j++)
        {
            y[2 * j] = a[j];
            y[2 * j + 1] = b[j];
        }
    }
}
