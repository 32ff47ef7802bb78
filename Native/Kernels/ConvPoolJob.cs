using System.Runtime.CompilerServices;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// A channels-last convolution (im2col + GEMM) and the max or average pool that alone reads its output, computed in
/// bands of pooled rows: the convolution rows a band needs are unfolded and multiplied into the thread's scratch, where
/// the pool reads them, so the convolution's output never exists whole. That output is a network's largest tensor where
/// this pattern occurs, the stem (SqueezeNet's: 3.2 MB an image, written to memory and read back by the pool when run
/// apart). Each unit of work is a strip of one image's pooled rows; convolution rows two bands share stay in the
/// scratch (see <see cref="HeldRows"/>). One instance per engine layer, reused for every call; not thread-safe.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class ConvPoolJob : IParallelTask
{
    // Pooled pixels per band: SqueezeNet's stem and pool ran 4.7–7.5% faster fused than apart (whole calls at batch 1)
    // with 64, 3.9–6.6% with 128, 2.3% with 256, not at all with 512.
    private const int BandPixels = 64;

    private readonly GemmJob[] _gemms;
    private readonly ChannelsLastWindowJob _pool = new();

    // The call in progress, read by Execute on the workers.
    private float* _x, _y, _workspace;
    private PointwiseStage _stage;
    private Window2D _conv, _window;
    private int _strips, _units;
    private PartClaims _claims;

    /// <param name="threads">The thread count of the pool it will run on.</param>
    public ConvPoolJob(int threads)
    {
        _gemms = new GemmJob[threads];
        for (int i = 0; i < threads; i++) _gemms[i] = new GemmJob();
    }

    /// <summary>Floats of scratch <see cref="Run"/> needs: held convolution rows and unfolded rows, per thread.</summary>
    public static long WorkspaceLength(in Window2D conv, in Window2D pool, int threads) => threads * ThreadFloats(conv, pool);

    /// <summary>
    /// y = pool(act(conv(x) + bias)), NHWC. <paramref name="conv"/> is the convolution's window (x's channels), whose
    /// weight is packed for <paramref name="tactic"/> as a GEMM B operand of [KernelH·KernelW·C, outC] and whose bias is
    /// null or outC floats; <paramref name="pool"/> is the pool's window over the convolution's output (outC channels).
    /// </summary>
    public void Run(float* x, in Window2D conv, GemmTactic tactic, float* weights, float* bias, in Activation activation,
        WindowOp op, bool countIncludePad, in Window2D pool, float* y, float* workspace, WorkerPool workers)
    {
        if (pool.Batch == 0 || pool.OutH == 0 || pool.OutW == 0 || pool.Channels == 0) return;
        _x = x;
        _y = y;
        _workspace = workspace;
        (_stage, _conv, _window) = (new PointwiseStage(tactic, weights, bias, activation), conv, pool);
        _pool.PreparePool(op, countIncludePad, pool);
        int threads = Math.Min(workers.ThreadCount, _gemms.Length);
        // One strip per thread (a strip's top rows are computed twice), shared out over the images.
        _strips = Math.Clamp((threads + pool.Batch - 1) / pool.Batch, 1, pool.OutH);
        _units = pool.Batch * _strips;
        _claims.Reset(_units, Math.Min(threads, _units));
        workers.For(Math.Min(threads, _units), this);
    }

    void IParallelTask.Execute(int index)
    {
        var (conv, pool) = (_conv, _window);
        float* scratch = _workspace + index * ThreadFloats(conv, pool);
        var held = new HeldRows(scratch, RowFloats(pool), CapacityRows(pool));
        float* unfolded = scratch + MemoryPlan.Align(CapacityRows(pool) * RowFloats(pool));
        for (int walk = 0, unit; (unit = _claims.Next(ref walk)) >= 0;)
            RunStrip(_gemms[index], unit / _strips, unit % _strips, ref held, unfolded);
    }

    // Floats of one convolution output row (the pool's input row).
    private static nint RowFloats(in Window2D pool) => (nint)pool.InW * pool.Channels;

    private static int BandRows(in Window2D pool) => Math.Clamp((BandPixels + pool.OutW - 1) / pool.OutW, 1, Math.Max(1, pool.OutH));

    /// <summary>Convolution rows the pool reads for <paramref name="rows"/> pooled rows (padding included).</summary>
    private static int InputRows(int rows, in Window2D pool) => (rows - 1) * pool.StrideH + (pool.KernelH - 1) * pool.DilationH + 1;

    // Twice a band's convolution rows, so the rows a band shares with the next move back to the top only every few
    // bands; no more than the image has.
    private static int CapacityRows(in Window2D pool) => Math.Clamp(2 * InputRows(BandRows(pool), pool), 1, Math.Max(1, pool.InH));

    private static long ThreadFloats(in Window2D conv, in Window2D pool) =>
        MemoryPlan.Align(CapacityRows(pool) * (long)RowFloats(pool)) + UnfoldedRows.ScratchFloats(conv);

    /// <summary>Pooled rows of strip <paramref name="strip"/> of image <paramref name="image"/>, band by band.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunStrip(GemmJob gemm, int image, int strip, ref HeldRows rows, float* unfolded)
    {
        var (conv, pool) = (_conv, _window);
        int band = BandRows(pool);
        float* x = _x + (nint)image * conv.InH * conv.InW * conv.Channels;
        float* y = _y + (nint)image * pool.OutH * pool.OutW * pool.Channels;
        int first = (int)((long)pool.OutH * strip / _strips), end = (int)((long)pool.OutH * (strip + 1) / _strips);
        for (int o0 = first; o0 < end; o0 += band)
        {
            int o1 = Math.Min(end, o0 + band);
            int low = Math.Clamp(o0 * pool.StrideH - pool.PadTop, 0, pool.InH);
            int high = Math.Clamp(o0 * pool.StrideH - pool.PadTop + InputRows(o1 - o0, pool), low, pool.InH);
            UnfoldedRows.Compute(gemm, _stage, conv, pool.Channels, x, unfolded, rows.Ready(image, low, high), high, rows.Base);
            _pool.RunRows(rows.Base, y, o0, o1);
        }
    }
}
