using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Runs one GEMM or batched MatMul across a <see cref="WorkerPool"/>. One instance per engine layer, reused for
/// every call; an instance is not thread-safe (one call at a time). Work is cut into units of
/// (batch, Mc-row block, group of Nr panels) that the pool's tasks claim dynamically.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class GemmJob : IParallelTask
{
    private const int MaxBatchRank = 6;

    // Below this many multiply-adds (about 2 µs of work on one core) waking a second worker costs more than it saves.
    private const long ParallelThreshold = 1 << 17;

    // With more than a few rows, sharing also moves A between the cores (the layer before wrote it on both): below
    // this many multiply-adds that costs more than the second core saves (tiny_mlp at batch 64: 32 → 17 µs on one).
    private const long ParallelThresholdManyRows = 1 << 20;

    // From here to ParallelThresholdManyRows a GEMM of many rows (a moderate GEMM) is shared only if the workers are awake
    // (a layer or call just before used them) and the engine's builder found sharing them faster (see ModerateLoops); if
    // they sleep it wakes them for the next such layer and runs on its own thread. tiny_mlp at batch 64 (two GEMMs of 512
    // and 768 Ki), calls back to back: 30 → 20 µs on one host; 17.5 → 24.6 µs on another (at times: the same VM later shared faster).
    // A millisecond apart, as a service that is not saturated calls it, 36 → 38 (the wake-up), where sharing always had
    // cost 32 → 36–37.
    private const long ParallelThresholdAwake = 1 << 19;

    private readonly bool _shareModerate;

    /// <param name="shareModerate">Whether moderate GEMMs are shared with awake workers (<see cref="Plan.EnginePlan.ModerateGemmsShared"/>).</param>
    public GemmJob(bool shareModerate = true) => _shareModerate = shareModerate;

    /// <summary>
    /// Calls of this job that were moderate GEMMs on a pool of several threads, shared or not: where an engine has none,
    /// whether it shares them makes no difference, and its builder does not time the choice.
    /// </summary>
    internal int ModerateLoops { get; private set; }

    private readonly nint[] _batchDims = new nint[MaxBatchRank];
    private readonly nint[] _aBatchStrides = new nint[MaxBatchRank];
    private readonly nint[] _bBatchStrides = new nint[MaxBatchRank];

    // The call in progress, read by Execute on the workers.
    private GemmTactic _tactic;
    private float* _a, _b, _y, _bias, _workspace, _rowBias, _residual, _bScale;
    private nint _bScaleBatchStride;
    private nint _aRowStride, _aColStride, _ldy;
    // Per batch: how far y, the residual and the bias move (rows of y and the residual, or the columns of a group;
    // see RunGrouped), and the residual's row stride.
    private nint _yBatchStride, _residualBatchStride, _biasBatchStride, _ldResidual;
    private int _m, _n, _k, _batchRank, _batches;
    private bool _packed;
    private Activation _activation;
    private int _rowBlocks, _panelGroups, _panelsPerGroup, _units;
    // Rows of A a unit computes: the tactic's Mc, or whole rows of output pixels where windows are read from a band.
    private int _blockRows;

    // A of more floats than this per core does not stay in the cores' L2 (1 MiB each here).
    private const long L2FloatsPerCore = 1 << 18;

    // Whether each tile asks for the next tile's rows of A (see Dispatch).
    private bool _prefetchA;
    private PartClaims _claims;

    // Whether full tiles go to y by streaming stores (see RunPacked).
    private bool _streamY;

    /// <summary>
    /// Floats of a layer's output past which its tiles are better streamed to memory (8 MiB): the caches do not keep
    /// that much for the next layer anyway, and an ordinary store reads its line from memory first (SqueezeNet's stem
    /// at batch 8, 25 MB out: 3.7 → 2.5 ms; at batch 1, 3.2 MB, streaming cost the pool after it more than it saved).
    /// </summary>
    public const long StreamOutputFloats = 1 << 21;

    // Set for the duration of a RunUnfolded call: A is the im2col of this image, unfolded a row block at a time.
    private float* _unfoldX, _unfoldScratch;
    private Window2D _unfoldWindow;
    // Set for a RunGroupedUnfolded call: each unit unfolds only its group's channels.
    private int _unfoldGroups;
    // Set for either call where the units read their windows from a band of the input instead (see RunWindows).
    private bool _readWindows;

    // Unfolded rows kept per thread (512 KiB): a row block of them is read back from L2 by every panel's tiles.
    private const long MaxUnfoldFloats = 1 << 17;

    /// <summary>
    /// y[m, n] = act(A·B + bias + residual). A is [m, k] row-major ([k, m] when <paramref name="transA"/>); packedB
    /// comes from <see cref="GemmKernels.PackB"/> with the same tactic; bias is null or n floats; residual is null or
    /// [m, n] row-major. Rows of y are <paramref name="ldy"/> floats apart (0: n), so y may be a column range of a
    /// wider matrix.
    /// </summary>
    public void Run(GemmTactic tactic, float* a, int m, int k, bool transA, float* packedB, int n, float* bias,
        in Activation activation, float* y, WorkerPool pool, float* residual = null, int ldy = 0, bool streamOutput = false) =>
        RunPacked(tactic, a, m, k, transA, packedB, n, bias, activation, y, ldy > 0 ? ldy : n, pool, residual, 1, streamOutput);

    /// <summary>
    /// <paramref name="batches"/> independent GEMMs y[b] = a[b]·B[b] in one dispatch (the positions of a Winograd
    /// convolution): a is [batches, m, k], y [batches, m, n], and packedB holds each B packed as <see cref="GemmKernels.PackB"/>
    /// makes it, one after the other. No bias, residual or activation.
    /// </summary>
    public void RunBatched(GemmTactic tactic, float* a, int m, int k, float* packedB, int n, float* y, int batches, WorkerPool pool) =>
        RunPacked(tactic, a, m, k, false, packedB, n, null, default, y, n, pool, null, batches);

    /// <summary>
    /// A grouped convolution's GEMMs in one dispatch: for each group g, columns [g·n, g·n + n) of y = act(A_g·B_g + bias
    /// + residual), where A_g is columns [g·k, g·k + k) of <paramref name="a"/> (m rows, <paramref name="lda"/> floats
    /// apart) and B_g the g-th n columns of packedB: a weight of groups·n columns packed whole by
    /// <see cref="GemmKernels.PackB"/>, n a multiple of the tactic's Nr so that each group's columns are whole panels.
    /// bias is null or groups·n floats; y and residual (null, or laid out like y) have rows <paramref name="ldy"/> floats apart.
    /// </summary>
    public void RunGrouped(GemmTactic tactic, float* a, int m, int k, int lda, float* packedB, int n, int groups, float* bias,
        in Activation activation, float* y, int ldy, float* residual, WorkerPool pool, bool streamOutput = false)
    {
        if (n % tactic.Nr != 0) throw new ArgumentException($"{n} columns a group are not whole panels of {tactic.Name}.");
        SetPacked(tactic, a, m, k, false, packedB, n, bias, activation, y, ldy, residual, groups);
        _aRowStride = lda;
        _aBatchStrides[0] = k;
        _yBatchStride = _residualBatchStride = _biasBatchStride = n;
        _ldResidual = ldy;
        _streamY = Streams(streamOutput, tactic, k, residual, activation);
        Dispatch(pool);
    }

    /// <summary>
    /// <see cref="RunGrouped"/> for a channels-last grouped convolution of one HWC image: each unit unfolds its group's
    /// part of its row block's windows (KernelH·KernelW·C/groups values a pixel) into the claiming thread's part of
    /// <paramref name="scratch"/> (<see cref="GroupedUnfoldScratchLength"/> floats) right before its tiles read it, so
    /// the unfold is no separate pass and its rows are read back from L1/L2; or, where <see cref="CanReadWindows"/>,
    /// copies the input rows its output rows span there and reads the windows from them (<see cref="RunWindows"/>).
    /// </summary>
    public void RunGroupedUnfolded(GemmTactic tactic, float* x, in Window2D w, int groups, float* packedB, int n, float* bias,
        in Activation activation, float* y, int ldy, float* residual, float* scratch, WorkerPool pool, bool streamOutput = false)
    {
        (_unfoldWindow, _unfoldGroups) = (w, groups);
        _unfoldX = x;
        _unfoldScratch = scratch;
        int k = w.KernelH * w.KernelW * (w.Channels / groups);
        ReadWindows(tactic, w, groups, k, n);
        try
        {
            RunGrouped(tactic, null, w.OutH * w.OutW, k, k, packedB, n, groups, bias, activation, y, ldy, residual, pool, streamOutput);
        }
        finally
        {
            _unfoldX = null;
            _unfoldGroups = 0;
            _readWindows = false;
        }
    }

    /// <summary>Floats of scratch <see cref="RunGroupedUnfolded"/> needs: a row block of one group's unfolded rows (k values each) per thread.</summary>
    public static long GroupedUnfoldScratchLength(int k, GemmTactic tactic, int threads) => (long)threads * tactic.Mc * k;

    /// <summary>
    /// y = act((A·diag(s))·B + bias + residual) for <paramref name="images"/> images of <paramref name="m"/> rows each (a, y
    /// and residual hold them one after another): a per-image scale of A's columns, such as a squeeze-excitation's
    /// channel scale, applied to the rows of B instead. Each unit scales the k×Nr panels it reads into its thread's slot
    /// of <paramref name="workspace"/> (<see cref="MatMulWorkspaceLength"/> floats) right before its tiles read them:
    /// K·Nr multiplies per row block of up to Mc rows, where scaling A would be a pass over all of it.
    /// </summary>
    /// <param name="scale">k floats per image, <paramref name="scaleStride"/> apart (0: one scale for every image).</param>
    public void RunChannelScaled(GemmTactic tactic, float* a, int images, int m, int k, float* packedB, int n, float* bias,
        in Activation activation, float* y, int ldy, float* residual, float* scale, int scaleStride, float* workspace, WorkerPool pool)
    {
        SetPacked(tactic, a, m, k, false, packedB, n, bias, activation, y, ldy, residual, images);
        _bBatchStrides[0] = 0;
        _bScale = scale;
        _bScaleBatchStride = scaleStride;
        _workspace = workspace;
        Dispatch(pool);
    }

    /// <summary>
    /// As <see cref="Run"/>, all of it on the calling thread: for a caller that shares out work of its own (the bands of
    /// a fused block, a recurrent step's column panels), with one instance per thread. Rows of y, and of the residual,
    /// are <paramref name="ldy"/> floats apart (so both may be column ranges of wider matrices).
    /// </summary>
    public void RunOnThisThread(GemmTactic tactic, float* a, int m, int k, float* packedB, int n, float* bias,
        in Activation activation, float* y, int ldy, float* residual)
    {
        SetPacked(tactic, a, m, k, false, packedB, n, bias, activation, y, ldy, residual, 1);
        _ldResidual = ldy;
        if (m == 0 || n == 0)
            return;
        _rowBlocks = (m + _blockRows - 1) / _blockRows;
        _panelGroups = 1;
        _panelsPerGroup = GemmKernels.PanelCount(n, tactic);
        // B is packed, so no unit needs a scratch slot for edge panels.
        for (int unit = 0; unit < _rowBlocks; unit++)
            RunUnit(unit, null);
    }

    /// <summary>
    /// Floats of scratch <see cref="RunUnfolded"/> needs for this window, tactic and thread count, or 0 where unfolding
    /// per row block does not pay: too few row blocks to share out without splitting the panels (each split would
    /// unfold its rows again), or rows too long for a block of them to stay in L2.
    /// </summary>
    public static long UnfoldScratchLength(in Window2D w, GemmTactic tactic, int threads)
    {
        long k = (long)w.KernelH * w.KernelW * w.Channels, rowBlocks = ((long)w.OutH * w.OutW + tactic.Mc - 1) / tactic.Mc;
        return rowBlocks >= 4L * threads && tactic.Mc * k <= MaxUnfoldFloats ? threads * tactic.Mc * k : 0;
    }

    /// <summary>
    /// A channels-last convolution of one HWC image without its im2col matrix: y = act(A·B + bias + residual) where row
    /// p of A is output pixel p's window of <paramref name="x"/> (KernelH·KernelW·C values), unfolded one row block at a
    /// time into the claiming thread's part of <paramref name="scratch"/> (<see cref="UnfoldScratchLength"/> floats,
    /// which must not be 0) right before its tiles read it, so A is read back from L2 rather than from memory; or,
    /// where <see cref="CanReadWindows"/>, reads its windows from a band of the input rows there (<see cref="RunWindows"/>).
    /// </summary>
    public void RunUnfolded(GemmTactic tactic, float* x, in Window2D w, float* packedB, int n, float* bias, in Activation activation,
        float* y, int ldy, float* residual, float* scratch, WorkerPool pool, bool streamOutput = false)
    {
        _unfoldX = x;
        _unfoldWindow = w;
        _unfoldScratch = scratch;
        int k = w.KernelH * w.KernelW * w.Channels;
        ReadWindows(tactic, w, 1, k, n);
        try
        {
            RunPacked(tactic, null, w.OutH * w.OutW, k, false, packedB, n, bias, activation, y, ldy, pool, residual, 1, streamOutput);
        }
        finally
        {
            _unfoldX = null;
            _readWindows = false;
        }
    }

    /// <summary>
    /// Whether the units of an unfolding run read their windows from a band instead (<see cref="RunWindows"/>), whole
    /// output rows a unit, as many as the claiming thread's slot (Mc·k floats) holds the input of: where
    /// <see cref="CanReadWindows"/> and even one row's band fits.
    /// </summary>
    private void ReadWindows(GemmTactic tactic, in Window2D w, int groups, int k, int n)
    {
        int rows = w.OutW == 0 || !CanReadWindows(tactic, k, n, w.KernelW * (w.Channels / groups)) ? 0 : Math.Max(1, tactic.Mc / w.OutW);
        while (rows > 0 && WindowBandFloats(w, groups, rows) > (long)tactic.Mc * k) rows--;
        _readWindows = rows > 0;
        if (_readWindows) _blockRows = rows * w.OutW;
    }

    /// <summary>
    /// Whether a convolution whose GEMM (a group's) is k deep and n wide, a kernel row of its windows
    /// <paramref name="rowRun"/> values, reads its windows with this tactic (<see cref="RunWindows"/>): a kernel that
    /// reads them, one K pass, and either one panel or short kernel rows. Where several panels share a unit's unfolded
    /// rows the unfold pays for itself (ResNet-50's 128-channel stride-2 layer took 6% longer from a band), but not where
    /// it copies a few floats at a time (stems of 3 channels: GoogLeNet's, VGG's, SqueezeNet's 8–10% faster from a band,
    /// ResNet-50's 5%, AlexNet's 11-wide one 4%); one panel reads the unfolded rows once (a narrow group's unfold cost
    /// about what its GEMM did).
    /// </summary>
    public static bool CanReadWindows(GemmTactic tactic, int k, int n, int rowRun) =>
        GemmMicroKernels.ReadsWindows(tactic.Wide, tactic.Nr) && KBlock(k, tactic) >= k && (n <= tactic.Nr || rowRun <= ShortRunFloats);

    // A kernel row of at most this many values unfolds a few floats at a time (a 3-channel stem's 3 to 11 taps).
    private const int ShortRunFloats = 48;

    /// <summary>
    /// Output rows [<paramref name="oh0"/>, <paramref name="oh1"/>) of a channels-last convolution of one HWC image (one
    /// group) on the calling thread, its windows read from a zero-padded copy of the input rows they span in
    /// <paramref name="band"/> (<see cref="WindowBandFloats"/> floats): for fused layers that start with a convolution
    /// (a stem), where <see cref="CanReadWindows"/>. y addresses the output's row 0, pixels <paramref name="ldy"/> floats apart.
    /// </summary>
    public void RunWindowRows(GemmTactic tactic, float* x, in Window2D w, int oh0, int oh1, float* band, float* packedB, int n, float* bias,
        in Activation activation, float* y, int ldy)
    {
        SetPacked(tactic, null, (oh1 - oh0) * w.OutW, w.KernelH * w.KernelW * w.Channels, false, packedB, n, bias, activation, y, ldy, null, 1);
        _unfoldWindow = w;
        RunWindows(x, w.Channels, oh0, oh1, band, 0, GemmKernels.PanelCount(n, tactic), packedB, y, null, bias);
    }

    private void RunPacked(GemmTactic tactic, float* a, int m, int k, bool transA, float* packedB, int n, float* bias,
        in Activation activation, float* y, int ldy, WorkerPool pool, float* residual, int batches, bool streamOutput = false)
    {
        SetPacked(tactic, a, m, k, transA, packedB, n, bias, activation, y, ldy, residual, batches);
        _streamY = Streams(streamOutput, tactic, k, residual, activation);
        Dispatch(pool);
    }

    /// <summary>
    /// Whether full tiles go to y by streaming stores, which write whole lines without reading them first: a tile must
    /// be written once, finished: one K block, nothing seeded, and no activation pass over the stored tile (the 512-bit
    /// kernels clamp, or apply HardSwish, in registers).
    /// </summary>
    private static bool Streams(bool streamOutput, GemmTactic tactic, int k, float* residual, in Activation activation) =>
        streamOutput && tactic.Wide && GemmMicroKernels.WideSupported && residual == null && KBlock(k, tactic) >= k
        && activation.Kind is ActivationKind.Identity or ActivationKind.Relu or ActivationKind.Clip or ActivationKind.HardSwish;

    private void SetPacked(GemmTactic tactic, float* a, int m, int k, bool transA, float* packedB, int n, float* bias,
        in Activation activation, float* y, int ldy, float* residual, int batches)
    {
        _tactic = tactic;
        if (!_readWindows) _blockRows = tactic.Mc;
        _a = a;
        _aRowStride = transA ? 1 : k;
        _aColStride = transA ? m : 1;
        _b = packedB;
        _workspace = null;
        _bScale = null;
        _packed = true;
        _prefetchA = false;
        _streamY = false;
        _bias = bias;
        _rowBias = null;
        _residual = residual;
        _activation = activation;
        _y = y;
        _ldy = ldy;
        _m = m;
        _n = n;
        _k = k;
        _batchRank = batches > 1 ? 1 : 0;
        _batches = batches;
        _batchDims[0] = batches;
        _aBatchStrides[0] = (nint)m * k;
        _bBatchStrides[0] = GemmKernels.PackedLength(k, n, tactic);
        SetBatchStrides();
    }

    /// <summary>Batches stacked by rows: y and the residual move m rows a batch, the bias not at all.</summary>
    private void SetBatchStrides()
    {
        _yBatchStride = (nint)_m * _ldy;
        _residualBatchStride = (nint)_m * _n;
        _biasBatchStride = 0;
        _ldResidual = _n;
    }

    /// <summary>
    /// ONNX MatMul: a [batchA..., m, k] · b [batchB..., k, n] → y [batch..., m, n] with numpy broadcasting of the
    /// batch dims (both ranks ≥ 2; the caller reshapes 1-D operands). <paramref name="workspace"/> must hold
    /// <see cref="MatMulWorkspaceLength"/>(k, n, tactic, pool.ThreadCount) floats.
    /// </summary>
    /// <param name="rowBias">
    /// Null, or one value per row of y added in the epilogue (a convolution's per-channel bias); 2-D, or 3-D with as many
    /// A as B matrices (a grouped NCHW convolution's, whose groups' rows follow one another).
    /// </param>
    /// <param name="residual">Null, or a tensor laid out like y added in the epilogue; as <paramref name="rowBias"/>.</param>
    /// <param name="activation">Applied last, while the tile is in cache.</param>
    public void RunMatMul(GemmTactic tactic, float* a, ReadOnlySpan<int> aShape, float* b, ReadOnlySpan<int> bShape,
        float* y, ReadOnlySpan<int> yShape, float* workspace, WorkerPool pool, float* rowBias = null, float* residual = null,
        Activation activation = default)
    {
        int rank = yShape.Length;
        if (rank < 2 || aShape.Length < 2 || bShape.Length < 2 || rank - 2 > MaxBatchRank)
            throw new ArgumentException($"MatMul operands need rank 2..{MaxBatchRank + 2}.");
        if ((rowBias != null || residual != null) && rank != 2 && !(rank == 3 && aShape.Length == 3 && bShape.Length == 3 && aShape[0] == bShape[0]))
            throw new ArgumentException("A row bias or residual epilogue needs a 2-D MatMul, or a 3-D one of as many A as B matrices.");
        int m = yShape[rank - 2], n = yShape[rank - 1], k = aShape[^1];

        // Batch dims, right-aligned, with stride 0 where an operand broadcasts.
        nint aStride = (nint)m * k, bStride = (nint)k * n, batches = 1, aBatches = 1, bBatches = 1;
        for (int d = rank - 3, slot = 0; d >= 0; d--, slot++)
        {
            int aDim = BatchDim(aShape, d, rank), bDim = BatchDim(bShape, d, rank);
            _batchDims[slot] = yShape[d];
            _aBatchStrides[slot] = aDim == 1 ? 0 : aStride;
            _bBatchStrides[slot] = bDim == 1 ? 0 : bStride;
            aStride *= aDim;
            bStride *= bDim;
            batches *= yShape[d];
            aBatches *= aDim;
            bBatches *= bDim;
        }

        _tactic = tactic;
        _blockRows = tactic.Mc;
        _a = a;
        _aRowStride = k;
        _aColStride = 1;
        _b = b;
        _bScale = null;
        _packed = false;
        _streamY = false;
        _bias = null;
        _rowBias = rowBias;
        _residual = residual;
        _activation = activation;
        _y = y;
        _ldy = n;
        _n = n;
        _k = k;
        _workspace = workspace;
        if (bBatches == 1 && aBatches == batches)
        {
            // One shared B and A not broadcast: the batch folds into the rows of a single GEMM.
            _m = checked((int)(batches * m));
            _batchRank = 0;
            _batches = 1;
        }
        else
        {
            _m = m;
            _batchRank = rank - 2;
            _batches = checked((int)batches);
        }
        SetBatchStrides();
        Dispatch(pool);
    }

    /// <summary>Floats of scratch <see cref="RunMatMul"/> and <see cref="RunChannelScaled"/> need: one kc×Nr B slice per worker.</summary>
    public static int MatMulWorkspaceLength(int k, int n, GemmTactic tactic, int threads) =>
        checked(threads * Math.Max(1, KBlock(k, tactic)) * tactic.Nr);

    void IParallelTask.Execute(int index)
    {
        // A packed B needs no slot for its edge panels: then the slot holds the thread's unfolded rows, if any.
        float* slot = _unfoldX != null
            ? _unfoldScratch + (nint)index * _tactic.Mc * _k
            : _workspace + (nint)index * Math.Max(1, KBlock(_k, _tactic)) * _tactic.Nr;
        for (int walk = 0, unit; (unit = _claims.Next(ref walk)) >= 0;)
            RunUnit(unit, slot);
        // Streamed lines must reach memory before the pool reports the loop done and the next layer reads them.
        if (_streamY) Sse.StoreFence();
    }

    private static int BatchDim(ReadOnlySpan<int> shape, int outputDim, int outputRank)
    {
        int d = outputDim - (outputRank - shape.Length);
        return d < 0 ? 1 : shape[d];
    }

    private static int KBlock(int k, GemmTactic tactic) => tactic.Kc > 0 ? Math.Min(tactic.Kc, k) : k;

    private void Dispatch(WorkerPool pool)
    {
        if (_m == 0 || _n == 0 || _batches == 0)
            return;
        int panels = GemmKernels.PanelCount(_n, _tactic);
        _rowBlocks = (_m + _blockRows - 1) / _blockRows;
        int rowUnits = _batches * _rowBlocks;
        int threads = pool.ThreadCount;
        long work = (long)_batches * _m * _n * Math.Max(_k, 1);
        int tasks = 1;
        _panelGroups = 1;
        bool moderate = threads > 1 && _m > 8 && work >= ParallelThresholdAwake && work < ParallelThresholdManyRows;
        if (moderate) ModerateLoops++;
        if (threads > 1 && (work >= (_m <= 8 ? ParallelThreshold : ParallelThresholdManyRows)
                            || (moderate && _shareModerate && pool.AwakeOrWaking())))
        {
            // About four units per thread so a thread that was descheduled does not hold up the rest.
            int target = threads * 4;
            _panelGroups = Math.Clamp((target + rowUnits - 1) / rowUnits, 1, panels);
            tasks = threads;
        }
        _panelsPerGroup = (panels + _panelGroups - 1) / _panelGroups;
        _panelGroups = (panels + _panelsPerGroup - 1) / _panelsPerGroup;
        // Rows of 128 floats or more lie whole lines apart, and a tile reads a few floats of each at a time: a pattern the
        // hardware prefetchers do not follow, so where A comes from L3 or memory each tile asks for the next tile's rows
        // while it runs (SqueezeNet at batch 8: its 128→16 squeeze at 55×55 1.35–1.40 → 0.69 ms, the whole call 3%
        // faster). Shorter rows make one stream that the hardware follows (asking cost up to 12% there), and an unfolded A
        // is in L2 already.
        _prefetchA = Sse.IsSupported && _aColStride == 1 && _unfoldX == null && _k >= 128 && (long)_m * _k > threads * L2FloatsPerCore;
        _units = rowUnits * _panelGroups;
        _claims.Reset(_units, Math.Min(tasks, _units));
        pool.For(Math.Min(tasks, _units), this);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunUnit(int unit, float* slot)
    {
        var tactic = _tactic;
        int mr = tactic.Mr, nr = tactic.Nr;
        int group = unit % _panelGroups;
        int rowBlock = unit / _panelGroups % _rowBlocks;
        int batch = unit / _panelGroups / _rowBlocks;

        float* a = _a, b = _b, y = _y, residual = _residual, scale = _bScale, batchBias = _bias, rowBias = _rowBias;
        if (_batchRank > 0)
            OffsetBatch(batch, ref a, ref b, ref y, ref residual, ref scale, ref batchBias, ref rowBias);
        int m0 = rowBlock * _blockRows, m1 = Math.Min(_m, m0 + _blockRows);
        int p0 = group * _panelsPerGroup, p1 = Math.Min(GemmKernels.PanelCount(_n, tactic), p0 + _panelsPerGroup);
        if (_readWindows)
        {
            // A grouped run's batch is its group, whose channels follow the previous groups'.
            int perGroup = _unfoldWindow.Channels / Math.Max(1, _unfoldGroups);
            RunWindows(_unfoldX + (nint)batch * perGroup, perGroup, m0 / _unfoldWindow.OutW, (m1 + _unfoldWindow.OutW - 1) / _unfoldWindow.OutW, slot,
                p0, p1, b, y, residual, batchBias);
            return;
        }
        if (_unfoldX != null)
        {
            if (_unfoldGroups > 1) Im2Col.RunChannelsLastGroup(_unfoldX, _unfoldWindow.Channels, _unfoldGroups, batch, _unfoldWindow, slot, m0, m1);
            else Im2Col.RunChannelsLast(_unfoldX, _unfoldWindow.Channels, _unfoldWindow, slot, m0, m1);
            a = slot - (nint)m0 * _k;   // row i of A is pixel i
        }
        int n = _n, k = _k, kBlock = KBlock(k, tactic);
        nint ldy = _ldy;

        float* tile = stackalloc float[GemmMicroKernels.MaxTileFloats];
        float* paddedBias = stackalloc float[32];
        // A row bias or residual seeds the output tile, so the first K block accumulates onto it.
        bool seeded = rowBias != null || residual != null;
        int k0 = 0;
        do
        {
            int kc = Math.Min(kBlock, k - k0);
            bool first = k0 == 0, last = k0 + kc >= k;
            var activation = last ? _activation : default;
            for (int panel = p0; panel < p1; panel++)
            {
                int j0 = panel * nr, cols = Math.Min(nr, n - j0);
                float* bPanel;
                nint ldb;
                if (_packed)
                {
                    bPanel = b + (nint)panel * nr * k + (nint)k0 * nr;
                    ldb = nr;
                    if (scale != null)
                    {
                        ScaleRows(bPanel, scale + k0, kc, nr, slot);
                        bPanel = slot;
                    }
                }
                else if (cols == nr)
                {
                    bPanel = b + (nint)k0 * n + j0;
                    ldb = n;
                }
                else
                {
                    PackEdge(b + (nint)k0 * n + j0, n, kc, cols, nr, slot);
                    bPanel = slot;
                    ldb = nr;
                }

                float* bias = null;
                if (last && batchBias != null)
                {
                    bias = batchBias + j0;
                    if (cols < nr)
                    {
                        for (int j = 0; j < nr; j++)
                            paddedBias[j] = j < cols ? bias[j] : 0f;
                        bias = paddedBias;
                    }
                }

                for (int i0 = m0; i0 < m1; i0 += mr)
                {
                    int rows = Math.Min(mr, m1 - i0);
                    float* aTile = a + i0 * _aRowStride + k0 * _aColStride;
                    if (_prefetchA && panel == p0) PrefetchRows(aTile + mr * _aRowStride, Math.Min(mr, _m - i0 - mr), _aRowStride, kc);
                    float* c = y + i0 * ldy + j0;
                    if (cols == nr)
                    {
                        if (first && seeded) Seed(c, ldy, rowBias, residual, i0, j0, rows, nr);
                        GemmMicroKernels.Tile(tactic.Wide, nr, rows, aTile, _aRowStride, _aColStride, bPanel, ldb, kc, c, ldy, !first || seeded, bias, activation, _streamY);
                        continue;
                    }
                    // Right edge: run the full-width kernel on a scratch tile, copy the valid columns.
                    if (!first)
                        CopyColumns(c, ldy, tile, nr, rows, cols);
                    else if (seeded)
                        Seed(tile, nr, rowBias, residual, i0, j0, rows, cols);
                    GemmMicroKernels.Tile(tactic.Wide, nr, rows, aTile, _aRowStride, _aColStride, bPanel, ldb, kc, tile, nr, !first || seeded, bias, activation);
                    CopyColumns(tile, nr, c, ldy, rows, cols);
                }
            }
            k0 += kc;
        }
        while (k0 < k);
    }

    /// <summary>
    /// Output rows [<paramref name="oh0"/>, <paramref name="oh1"/>) of a convolution's GEMM (one K pass, a kernel that
    /// reads windows) over <paramref name="perGroup"/> channels of the image (x at the first): the input rows they read
    /// are copied, zero-padded, into <paramref name="band"/> (<see cref="WindowBandFloats"/>), and each row's pixels read
    /// their windows there tap by tap, in tiles of even height. Unfolding every row block cost RegNetY's groups of 8
    /// channels, whose GEMMs are light, about as much as the GEMMs, and a stem's 3 channels about as much again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunWindows(float* x, int perGroup, int oh0, int oh1, float* band, int p0, int p1, float* b, float* y, float* residual, float* bias)
    {
        var w = _unfoldWindow;
        int taps = w.KernelH * w.KernelW, mr = _tactic.Mr, nr = _tactic.Nr, paddedW = PaddedWidth(w);
        // Planar input: the pixels whose windows lie inside the image are read from its planes in place (PlanarTiles),
        // whole tiles of them in rows whose windows lie inside; the band then needs only the columns the others read.
        int planarColumns = GemmMicroKernels.PlanarColumns(_tactic);
        bool planar = w.PlanarInput && residual == null && w.DilationH == 1 && w.DilationW == 1 && nr % planarColumns == 0 && p1 * nr <= _n && VectorMath.IsSupported;
        int inside0 = Math.Min(w.OutW, (w.PadLeft + w.StrideW - 1) / w.StrideW);
        int lastStart = w.InW - w.KernelW + w.PadLeft; // (in padded columns) the last window start inside the image
        int inside1 = lastStart < 0 ? inside0 : Math.Clamp(lastStart / w.StrideW + 1, inside0, w.OutW);
        int planarEnd = inside0 + (inside1 - inside0) / GemmMicroKernels.PlanarPixels * GemmMicroKernels.PlanarPixels;
        planar &= planarEnd > inside0;
        bool PlanarRow(int oh) => planar && oh * w.StrideH - w.PadTop >= 0 && oh * w.StrideH - w.PadTop + w.KernelH <= w.InH;
        bool allPlanar = PlanarRow(oh0) && PlanarRow(oh1 - 1);
        CopyBand(w, x, perGroup, oh0 * w.StrideH - w.PadTop, BandRows(w, oh1 - oh0), paddedW, band,
            allPlanar ? (inside0 - 1) * w.StrideW + w.KernelW : 0, allPlanar ? planarEnd * w.StrideW : 0);
        // Undilated, a kernel row's taps are one run of the band: one pass of KernelW·perGroup values a kernel row.
        bool rowRuns = w.DilationW == 1;
        int passes = rowRuns ? w.KernelH : taps, depth = rowRuns ? w.KernelW * perGroup : perGroup;
        nint* offsets = stackalloc nint[passes];
        float* tile = stackalloc float[GemmMicroKernels.MaxTileFloats];
        float* paddedBias = stackalloc float[32];
        for (int t = 0; t < passes; t++)
        {
            int i = rowRuns ? t : t / w.KernelW, j = rowRuns ? 0 : t % w.KernelW;
            offsets[t] = ((nint)i * w.DilationH * paddedW + (nint)j * w.DilationW) * perGroup;
        }
        // A row's pixels in tiles of even height: 26 as 9 + 9 + 8 rather than 12 + 12 + 2.
        int tiles = (w.OutW + mr - 1) / mr, height = (w.OutW + tiles - 1) / tiles;
        for (int oh = oh0; oh < oh1; oh++)
        {
            float* row = band + (nint)(oh - oh0) * w.StrideH * paddedW * perGroup;
            bool planarRow = PlanarRow(oh);
            for (int panel = p0; panel < p1; panel++)
            {
                int j0 = panel * nr;
                if (planarRow)
                {
                    BandTiles(0, inside0);
                    PlanarTiles(x + (nint)(oh * w.StrideH - w.PadTop) * w.InW + inside0 * w.StrideW - w.PadLeft, inside0, planarEnd);
                    BandTiles(planarEnd, w.OutW);
                }
                else BandTiles(0, w.OutW);

                void PlanarTiles(float* first, int from, int to)
                {
                    for (int ow = from; ow < to; ow += GemmMicroKernels.PlanarPixels)
                        for (int part = 0; part < nr; part += planarColumns)
                            GemmMicroKernels.PlanarTile(planarColumns, first + (nint)(ow - from) * w.StrideW, w.StrideW, (nint)w.InH * w.InW, w.InW, perGroup,
                                w.KernelH, w.KernelW, b + (nint)panel * nr * _k + part, nr, y + (nint)(oh * w.OutW + ow) * _ldy + j0 + part, _ldy,
                                bias == null ? null : bias + j0 + part, _activation);
                }

                void BandTiles(int from, int to)
                {
                    for (int ow = from, rows; ow < to; ow += rows)
                    {
                        rows = Math.Min(height, to - ow);
                        int p = oh * w.OutW + ow;
                        float* a = row + (nint)ow * w.StrideW * perGroup;
                        float* c = y + p * _ldy + j0, bPanel = b + (nint)panel * nr * _k, panelBias = bias == null ? null : bias + j0;
                        int cols = Math.Min(nr, _n - j0);
                        if (cols < nr)
                        {
                            // The last panel of a width no panel divides (a stem's 24 outputs in 16-wide panels): a scratch tile.
                            if (panelBias != null)
                            {
                                for (int j = 0; j < nr; j++) paddedBias[j] = j < cols ? panelBias[j] : 0f;
                                panelBias = paddedBias;
                            }
                            if (residual != null) Seed(tile, nr, null, residual, p, j0, rows, cols);
                            GemmMicroKernels.TileWindows(_tactic.Wide, nr, rows, a, (nint)w.StrideW * perGroup, offsets, passes, depth, bPanel, tile, nr,
                                residual != null, panelBias, _activation);
                            CopyColumns(tile, nr, c, _ldy, rows, cols);
                            continue;
                        }
                        if (residual != null) Seed(c, _ldy, null, residual, p, j0, rows, nr);
                        GemmMicroKernels.TileWindows(_tactic.Wide, nr, rows, a, (nint)w.StrideW * perGroup, offsets, passes, depth, bPanel, c, _ldy,
                            residual != null, panelBias, _activation);
                    }
                }
            }
        }
    }

    /// <summary>Input columns the windows of a row span, padding included.</summary>
    private static int PaddedWidth(in Window2D w) => (w.OutW - 1) * w.StrideW + (w.KernelW - 1) * w.DilationW + 1;

    /// <summary>Input rows the windows of <paramref name="outputRows"/> output rows span, padding included.</summary>
    private static int BandRows(in Window2D w, int outputRows) => (outputRows - 1) * w.StrideH + (w.KernelH - 1) * w.DilationH + 1;

    /// <summary>Floats of a band of <paramref name="outputRows"/> output rows' input, one group's channels (see <see cref="RunWindows"/>).</summary>
    public static long WindowBandFloats(in Window2D w, int groups, int outputRows) => (long)BandRows(w, outputRows) * PaddedWidth(w) * (w.Channels / groups);

    /// <summary>
    /// band[r, q, c] = x[top + r, q − PadLeft, c] for <paramref name="rows"/> rows of <paramref name="paddedW"/> columns
    /// and the group's <paramref name="perGroup"/> channels (x at the group's first), zero outside the image; from the
    /// image's planes where the input is planar (one group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyBand(in Window2D w, float* x, int perGroup, int top, int rows, int paddedW, float* band, int skip0, int skip1)
    {
        for (int r = 0; r < rows; r++)
        {
            int ih = top + r;
            bool rowInside = (uint)ih < (uint)w.InH;
            if (perGroup == w.Channels && rowInside)
            {
                // All the channels (a stem's 3): the row's inside pixels are one run, between runs of padding.
                int left = Math.Min(w.PadLeft, paddedW), inside = Math.Clamp(paddedW - left, 0, w.InW);
                new Span<float>(band, left * perGroup).Clear();
                if (w.PlanarInput)
                {
                    // Padded columns [skip0, skip1) are read from the planes in place (RunWindows), not from the band.
                    int end = left + inside, cut0 = Math.Clamp(skip0, left, end), cut1 = Math.Clamp(skip1, cut0, end);
                    foreach (var (from, to) in (ReadOnlySpan<(int, int)>)[(left, cut0), (cut1, end)])
                        CopyKernels.InterleavePlanes(x + (nint)ih * w.InW + from - w.PadLeft, (nint)w.InH * w.InW, perGroup, to - from, band + (nint)from * perGroup);
                }
                else CopyKernels.Copy(x + (nint)ih * w.InW * w.Channels, band + (nint)left * perGroup, (nint)inside * perGroup);
                new Span<float>(band + (nint)(left + inside) * perGroup, (paddedW - left - inside) * perGroup).Clear();
                band += (nint)paddedW * perGroup;
                continue;
            }
            for (int q = 0; q < paddedW; q++, band += perGroup)
            {
                int iw = q - w.PadLeft;
                CopyKernels.CopyOrClear(x + ((nint)ih * w.InW + iw) * w.Channels, band, perGroup, rowInside && (uint)iw < (uint)w.InW);
            }
        }
    }

    /// <summary>Writes rowBias[i] + residual[i, j] into a rows × cols block of the output (or of a scratch tile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Seed(float* c, nint ldc, float* rowBias, float* residualMatrix, int i0, int j0, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            float bias = rowBias == null ? 0f : rowBias[i0 + r];
            float* row = c + r * ldc;
            float* residual = residualMatrix == null ? null : residualMatrix + (i0 + r) * _ldResidual + j0;
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var broadcast = Vector256.Create(bias);
                for (; j <= cols - 8; j += 8)
                    Vector256.Store(residual == null ? broadcast : broadcast + Vector256.Load(residual + j), row + j);
            }
            for (; j < cols; j++)
                row[j] = residual == null ? bias : bias + residual[j];
        }
    }

    private void OffsetBatch(int batch, ref float* a, ref float* b, ref float* y, ref float* residual, ref float* scale, ref float* bias, ref float* rowBias)
    {
        y += batch * _yBatchStride;
        if (residual != null) residual += batch * _residualBatchStride;
        if (bias != null) bias += batch * _biasBatchStride;
        if (rowBias != null) rowBias += (nint)batch * _m;
        if (scale != null) scale += batch * _bScaleBatchStride;
        for (int slot = 0; slot < _batchRank; slot++)
        {
            nint index = batch % _batchDims[slot];
            batch = (int)(batch / _batchDims[slot]);
            a += index * _aBatchStrides[slot];
            b += index * _bBatchStrides[slot];
        }
    }

    /// <summary>Asks for the lines of <paramref name="rows"/> rows of <paramref name="columns"/> floats to be brought into L2.</summary>
    private static void PrefetchRows(float* a, int rows, nint rowStride, int columns)
    {
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < columns; q += 16)
                Sse.Prefetch1(a + r * rowStride + q);
    }

    /// <summary>Row p of a kc×nr panel times scale[p], into slot (nr is a multiple of 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleRows(float* panel, float* scale, int kc, int nr, float* slot)
    {
        for (int p = 0; p < kc; p++, panel += nr, slot += nr)
        {
            var s = Vector256.Create(scale[p]);
            for (int j = 0; j < nr; j += 8)
                Vector256.Store(Vector256.Load(panel + j) * s, slot + j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackEdge(float* b, nint ldb, int kc, int cols, int nr, float* slot)
    {
        for (int p = 0; p < kc; p++, b += ldb, slot += nr)
        {
            for (int j = 0; j < cols; j++)
                slot[j] = b[j];
            for (int j = cols; j < nr; j++)
                slot[j] = 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyColumns(float* src, nint ldSrc, float* dst, nint ldDst, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
            Buffer.MemoryCopy(src + r * ldSrc, dst + r * ldDst, cols * sizeof(float), cols * sizeof(float));
    }
}
