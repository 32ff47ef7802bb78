using System.Runtime.CompilerServices;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// An inverted-residual block, channels-last: expand 1×1 (or a stem's convolution) → depthwise → project 1×1
/// (+ residual), computed in bands of output rows so the expanded and depthwise rows are read back while in the
/// thread's cache instead of going to memory as whole tensors. Each unit of work is a strip of one image's output
/// rows, walked band by band: the expanded rows a band needs are kept in the thread's scratch and those it shares with
/// the next band stay there, so only the rows at a strip's top are computed twice. One instance per engine layer,
/// reused for every call; not thread-safe.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class InvertedResidualJob : IParallelTask
{
    // Output pixels per band: enough GEMM rows to fill the micro-kernel's tiles, few enough that the rows stay in L2
    // (on MobileNetV2 48 to 96 ran alike, 32 and 128 or more slower).
    private const int BandPixels = 64;

    // Strips per thread when an image is shared out: more would balance the threads better, but each recomputes the
    // expanded rows at its top; on MobileNetV2 at two threads one strip per thread ran fastest (measured 1, 2, 4).
    private const int StripsPerThread = 1;

    // Below this many multiply-adds of the expand GEMM, waking a second worker costs more than it saves.
    private const long ParallelThreshold = 1 << 17;

    private readonly GemmJob[] _gemms;
    private readonly ChannelsLastWindowJob _depthwise = new();

    // The call in progress, read by Execute on the workers.
    private float* _x, _y, _residual, _workspace;
    private PointwiseStage _expand, _project;
    private Window2D _window, _unfold;
    private bool _unfolds;
    private int _inChannels, _outChannels, _strips, _units;
    private PartClaims _claims;

    /// <param name="threads">The thread count of the pool it will run on.</param>
    public InvertedResidualJob(int threads)
    {
        _gemms = new GemmJob[threads];
        for (int i = 0; i < threads; i++) _gemms[i] = new GemmJob();
    }

    /// <summary>
    /// Floats of scratch <see cref="Run"/> needs: a band of expanded and of depthwise rows per thread, and a block of
    /// unfolded rows where the expansion is not 1×1 (<paramref name="unfold"/>: its window).
    /// </summary>
    public static long WorkspaceLength(in Window2D depthwise, int threads, Window2D? unfold = null) => threads * ThreadFloats(depthwise, unfold);

    /// <summary>
    /// y = project(depthwise(expand(x))) + residual, NHWC. <paramref name="depthwise"/> is the depthwise convolution's
    /// window (its channels: the expanded ones) with its weights [KernelH·KernelW, channels], bias and activation;
    /// x has <paramref name="inChannels"/>, y and the residual (or null) <paramref name="outChannels"/>. A projection
    /// with no weights (default) means none: y = depthwise(expand(x)), written by the depthwise rows directly. An expansion
    /// that is not 1×1 (a network's stem: <paramref name="unfold"/> is its window over x) computes its rows through
    /// <see cref="UnfoldedRows"/>.
    /// </summary>
    public void Run(float* x, int inChannels, in PointwiseStage expand, in Window2D depthwise, float* depthwiseWeights, float* depthwiseBias,
        in Activation depthwiseActivation, in PointwiseStage project, int outChannels, float* residual, float* y, float* workspace, WorkerPool pool,
        Window2D? unfold = null)
    {
        var w = depthwise;
        if (w.Batch == 0 || w.OutH == 0 || w.OutW == 0 || outChannels == 0) return;
        _x = x;
        _y = y;
        _residual = residual;
        _workspace = workspace;
        _expand = expand;
        _project = project;
        _window = w;
        _inChannels = inChannels;
        _outChannels = outChannels;
        (_unfolds, _unfold) = (unfold.HasValue, unfold.GetValueOrDefault());
        _depthwise.PrepareDepthwise(depthwiseWeights, depthwiseBias, depthwiseActivation, w);
        int threads = Math.Min(pool.ThreadCount, _gemms.Length);
        long work = (long)w.Batch * w.InH * w.InW * w.Channels * Math.Max(1, inChannels);
        bool parallel = threads > 1 && work >= ParallelThreshold;
        _strips = parallel ? Math.Clamp((threads * StripsPerThread + w.Batch - 1) / w.Batch, 1, w.OutH) : 1;
        _units = w.Batch * _strips;
        int participants = parallel ? Math.Min(threads, _units) : 1;
        _claims.Reset(_units, participants);
        pool.For(participants, this);
    }

    void IParallelTask.Execute(int index)
    {
        var w = _window;
        // The expanded rows held stay valid for the thread's next strip of the same image: a thread that claims the strip
        // below its last (one thread doing all, when the others are late) computes no halo row twice.
        Window2D? unfold = _unfolds ? _unfold : null;
        float* scratch = _workspace + index * ThreadFloats(w, unfold);
        nint inRow = (nint)w.InW * w.Channels;
        var held = new HeldRows(scratch, inRow, CapacityRows(w));
        float* banded = scratch + MemoryPlan.Align(CapacityRows(w) * inRow), unfolded = banded + MemoryPlan.Align(BandRows(w) * (long)w.OutW * w.Channels);
        for (int walk = 0, unit; (unit = _claims.Next(ref walk)) >= 0;)
            RunStrip(_gemms[index], unit / _strips, unit % _strips, ref held, banded, unfolded);
    }

    private static int BandRows(in Window2D w) => Math.Clamp((BandPixels + w.OutW - 1) / w.OutW, 1, Math.Max(1, w.OutH));

    /// <summary>Input rows the depthwise reads for <paramref name="rows"/> output rows (padding included).</summary>
    private static int InputRows(int rows, in Window2D w) => (rows - 1) * w.StrideH + (w.KernelH - 1) * w.DilationH + 1;

    // Twice a band's input rows, so the rows a band shares with the next move back to the top only every few bands; no
    // more than the image has (a band never needs more).
    private static int CapacityRows(in Window2D w) => Math.Clamp(2 * InputRows(BandRows(w), w), 1, Math.Max(1, w.InH));

    private static long ThreadFloats(in Window2D w, Window2D? unfold) =>
        MemoryPlan.Align((long)CapacityRows(w) * w.InW * w.Channels) + MemoryPlan.Align((long)BandRows(w) * w.OutW * w.Channels) +
        (unfold is { } u ? UnfoldedRows.ScratchFloats(u) : 0);

    /// <summary>
    /// Output rows of strip <paramref name="strip"/> of image <paramref name="image"/>, band by band, the expanded rows
    /// held in <paramref name="expanded"/>, a band's depthwise rows in <paramref name="banded"/> and a stem's unfolded
    /// rows in <paramref name="unfolded"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunStrip(GemmJob gemm, int image, int strip, ref HeldRows expanded, float* banded, float* unfolded)
    {
        var w = _window;
        int channels = w.Channels, band = BandRows(w);
        nint inRow = (nint)w.InW * channels, outRow = (nint)w.OutW * channels;
        float* x = _unfolds ? _x + (nint)image * _unfold.InH * _unfold.InW * _inChannels : _x + (nint)image * w.InH * w.InW * _inChannels;
        nint outImage = (nint)image * w.OutH * w.OutW;
        int first = (int)((long)w.OutH * strip / _strips), end = (int)((long)w.OutH * (strip + 1) / _strips);
        for (int o0 = first; o0 < end; o0 += band)
        {
            int o1 = Math.Min(end, o0 + band);
            int low = Math.Clamp(o0 * w.StrideH - w.PadTop, 0, w.InH);
            int high = Math.Clamp(o0 * w.StrideH - w.PadTop + InputRows(o1 - o0, w), low, w.InH);
            int from = expanded.Ready(image, low, high);
            if (_unfolds)
                UnfoldedRows.Compute(gemm, _expand, _unfold, channels, x, unfolded, from, high, expanded.Base);
            else if (high > from)
                gemm.RunOnThisThread(_expand.Tactic, x + from * (nint)w.InW * _inChannels, (high - from) * w.InW, _inChannels, _expand.Weights, channels,
                    _expand.Bias, _expand.Activation, expanded.Base + from * inRow, channels, null);
            // Base pointers of the whole image's rows, of which only the band's (and the rows it reads) are held.
            if (_project.Weights == null)
            {
                _depthwise.RunRows(expanded.Base, _y + outImage * channels, o0, o1);
                continue;
            }
            _depthwise.RunRows(expanded.Base, banded - o0 * outRow, o0, o1);
            nint offset = (outImage + (nint)o0 * w.OutW) * _outChannels;
            gemm.RunOnThisThread(_project.Tactic, banded, (o1 - o0) * w.OutW, channels, _project.Weights, _outChannels,
                _project.Bias, _project.Activation, _y + offset, _outChannels, _residual == null ? null : _residual + offset);
        }
    }
}
