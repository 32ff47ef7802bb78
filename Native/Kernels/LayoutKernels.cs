using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Kernels;

/// <summary>Moves 4-D tensors between NCHW and channels-last NHWC.</summary>
public static unsafe class LayoutKernels
{
    // Pixels per tile: a tile of every channel's run stays in L1 while it is transposed.
    private const int TilePixels = 64;

    /// <summary>y[n, p, c] = x[n, c, p] when <paramref name="toChannelsLast"/>, else y[n, c, p] = x[n, p, c].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Reformat(float* x, float* y, int batch, int channels, int pixels, bool toChannelsLast)
    {
        nint image = (nint)channels * pixels;
        for (int n = 0; n < batch; n++, x += image, y += image)
            for (int p0 = 0; p0 < pixels; p0 += TilePixels)
            {
                int p1 = Math.Min(pixels, p0 + TilePixels);
                for (int c = 0; c < channels; c++)
                {
                    float* planar = (toChannelsLast ? x : y) + (nint)c * pixels;
                    float* interleaved = (toChannelsLast ? y : x) + c;
                    if (toChannelsLast)
                        for (int p = p0; p < p1; p++) interleaved[(nint)p * channels] = planar[p];
                    else
                        for (int p = p0; p < p1; p++) planar[p] = interleaved[(nint)p * channels];
                }
            }
    }
}
