using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Moves 4-D tensors between NCHW and channels-last NHWC, tiles of pixels shared out over a <see cref="WorkerPool"/>.
/// One instance per engine layer; not thread-safe.
/// </summary>
public sealed unsafe class ReformatJob : IParallelTask, IRowTask
{
    // Pixels per tile: a tile of every channel's run stays in L1 while it is transposed.
    private const int TilePixels = 64;

    private float* _x, _y;
    private int _channels, _pixels;
    private bool _toChannelsLast;
    private RowSchedule _schedule;

    /// <summary>y[n, p, c] = x[n, c, p] when <paramref name="toChannelsLast"/>, else y[n, c, p] = x[n, p, c].</summary>
    public void Reformat(float* x, float* y, int batch, int channels, int pixels, bool toChannelsLast, WorkerPool pool)
    {
        _x = x;
        _y = y;
        _channels = channels;
        _pixels = pixels;
        _toChannelsLast = toChannelsLast;
        _schedule.Plan(batch, (pixels + TilePixels - 1) / TilePixels, (long)batch * channels * pixels, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(index, this);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IRowTask.RunRows(int image, int tile0, int tile1)
    {
        int channels = _channels, pixels = _pixels;
        nint offset = (nint)image * channels * pixels;
        float* x = _x + offset, y = _y + offset;
        for (int p0 = tile0 * TilePixels; p0 < Math.Min(pixels, tile1 * TilePixels); p0 += TilePixels)
        {
            int p1 = Math.Min(pixels, p0 + TilePixels);
            int rest = _toChannelsLast && channels == 3 && Avx2.IsSupported ? InterleaveThree(x, y, pixels, p0, p1) : p0;
            for (int c = 0; c < channels; c++)
            {
                float* planar = (_toChannelsLast ? x : y) + (nint)c * pixels;
                float* interleaved = (_toChannelsLast ? y : x) + c;
                if (_toChannelsLast)
                    for (int p = rest; p < p1; p++) interleaved[(nint)p * channels] = planar[p];
                else
                    for (int p = rest; p < p1; p++) planar[p] = interleaved[(nint)p * channels];
            }
        }
    }

    private static readonly Vector256<int> RedFirst = Vector256.Create(0, 0, 0, 1, 0, 0, 2, 0), GreenFirst = Vector256.Create(0, 0, 0, 0, 1, 0, 0, 2),
        BlueFirst = Vector256.Create(0, 0, 0, 0, 0, 1, 0, 0), RedSecond = Vector256.Create(0, 3, 0, 0, 4, 0, 0, 5),
        GreenSecond = Vector256.Create(0, 0, 3, 0, 0, 4, 0, 0), BlueSecond = Vector256.Create(2, 0, 0, 3, 0, 0, 4, 0),
        RedThird = Vector256.Create(0, 0, 6, 0, 0, 7, 0, 0), GreenThird = Vector256.Create(5, 0, 0, 6, 0, 0, 7, 0),
        BlueThird = Vector256.Create(0, 5, 0, 0, 6, 0, 0, 7);

    /// <summary>
    /// An image's three planes (an RGB input, the usual first reformat) interleaved eight pixels at a time: each output
    /// vector takes its lanes from the three planes by one permute each and two blends. Returns the first pixel left.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int InterleaveThree(float* x, float* y, int pixels, int p0, int p1)
    {
        int p = p0;
        for (; p <= p1 - 8; p += 8)
        {
            var r = Avx.LoadVector256(x + p);
            var g = Avx.LoadVector256(x + pixels + p);
            var b = Avx.LoadVector256(x + 2 * pixels + p);
            float* o = y + (nint)p * 3;
            // Blend masks pick lanes of the second (bit set) operand: r g b r g b r g, then b r g b r g b r, then g b r g b r g b.
            Avx.Store(o, Avx.Blend(Avx.Blend(Avx2.PermuteVar8x32(r, RedFirst), Avx2.PermuteVar8x32(g, GreenFirst), 0b1001_0010), Avx2.PermuteVar8x32(b, BlueFirst), 0b0010_0100));
            Avx.Store(o + 8, Avx.Blend(Avx.Blend(Avx2.PermuteVar8x32(r, RedSecond), Avx2.PermuteVar8x32(g, GreenSecond), 0b0010_0100), Avx2.PermuteVar8x32(b, BlueSecond), 0b0100_1001));
            Avx.Store(o + 16, Avx.Blend(Avx.Blend(Avx2.PermuteVar8x32(r, RedThird), Avx2.PermuteVar8x32(g, GreenThird), 0b0100_1001), Avx2.PermuteVar8x32(b, BlueThird), 0b1001_0010));
        }
        return p;
    }
}
