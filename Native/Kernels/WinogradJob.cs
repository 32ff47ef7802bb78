using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// A channels-last 3×3, stride-1, undilated, single-group convolution by Winograd F(m×m, 3×3), m = 4, 3 or 2:
/// y = act(conv(x, w) + bias + residual). The output is cut into m×m tiles (the last ones may overhang); tiles go in
/// blocks small enough that the block's transformed input V [positions, tiles, inC] and GEMM output M [positions,
/// tiles, outC] stay in L2. Per block: the input transform, one GEMM V[p]·U[p] per position (36, 25 or 16; U = the weight
/// transformed and packed at build time, <see cref="WinogradTransforms.PackWeights"/>), then the output transform
/// with bias, residual and activation.
/// Each phase is shared out over the workers by tiles; every value is computed by one worker in a fixed order, so
/// results do not depend on the thread count. One instance per engine layer; not thread-safe.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class WinogradJob : IParallelTask, IRowTask
{
    // V and M of one block: about 1 MiB, the L2 of current x86 cores.
    private const int BlockFloats = 1 << 18;
    private const int MaxLanes = 16;

    private readonly GemmJob _gemm = new();
    private float* _x, _bias, _residual, _y, _v, _m;
    private Activation _activation;
    private bool _clamp;
    private float _low, _high;
    private Window2D _window;
    private int _tile, _outChannels, _outPixelStride, _tilesW, _tilesPerImage, _block0, _blockTiles;
    private bool _outputPhase;
    private RowSchedule _schedule;

    /// <summary>Tiles per block for these channel counts; the same on any thread count.</summary>
    public static int BlockTiles(int tile, long tiles, int inChannels, int outChannels) =>
        (int)Math.Max(1, Math.Min(tiles, Math.Max(16, BlockFloats / (WinogradTransforms.Positions(tile) * ((long)inChannels + outChannels)))));

    /// <summary>Floats of scratch <see cref="Run"/> needs: V and M of one block.</summary>
    public static long WorkspaceLength(int tile, in Window2D w, int outChannels) =>
        (long)WinogradTransforms.Positions(tile) * BlockTiles(tile, Tiles(tile, w), w.Channels, outChannels) * ((long)w.Channels + outChannels);

    /// <summary>Output tiles of m×m (m = <paramref name="tile"/>) over the batch: the rows of each position's GEMM.</summary>
    public static long Tiles(int tile, in Window2D w) => (long)w.Batch * TileCount(w.OutH, tile) * TileCount(w.OutW, tile);

    private static int TileCount(int size, int tile) => (size + tile - 1) / tile;

    /// <summary>
    /// x is [Batch, InH, InW, Channels] and residual [Batch, OutH, OutW, outChannels]; y is laid out the same with its
    /// pixels <paramref name="outPixelStride"/> floats apart (≥ outChannels: a channel range of a wider tensor);
    /// packedWeights come from <see cref="WinogradTransforms.PackWeights"/> with <paramref name="tile"/> and
    /// <paramref name="tactic"/>; bias is null or outChannels floats.
    /// </summary>
    public void Run(int tile, GemmTactic tactic, float* x, float* packedWeights, float* bias, float* residual, in Activation activation,
        float* y, int outPixelStride, in Window2D w, int outChannels, float* workspace, WorkerPool pool)
    {
        if (w.KernelH != 3 || w.KernelW != 3 || w.StrideH != 1 || w.StrideW != 1 || w.DilationH != 1 || w.DilationW != 1)
            throw new ArgumentException("Winograd runs 3×3 convolutions of stride 1 and dilation 1.");
        int positions = WinogradTransforms.Positions(tile);
        _tile = tile;
        _x = x;
        _bias = bias;
        _residual = residual;
        _activation = activation;
        // Relu and Clip are applied while each value is in a register; other activations by a pass over each finished tile.
        _clamp = activation.Kind is ActivationKind.Relu or ActivationKind.Clip;
        _low = activation.Kind == ActivationKind.Relu ? 0f : activation.Alpha;
        _high = activation.Kind == ActivationKind.Relu ? float.PositiveInfinity : activation.Beta;
        _y = y;
        _window = w;
        _outChannels = outChannels;
        _outPixelStride = outPixelStride;
        _tilesW = TileCount(w.OutW, tile);
        _tilesPerImage = TileCount(w.OutH, tile) * _tilesW;
        long tiles = Tiles(tile, w);
        int block = BlockTiles(tile, tiles, w.Channels, outChannels);
        _v = workspace;
        _m = workspace + (nint)positions * block * w.Channels;
        for (long t0 = 0; t0 < tiles; t0 += block)
        {
            _block0 = (int)t0;
            _blockTiles = (int)Math.Min(block, tiles - t0);
            _outputPhase = false;
            _schedule.Plan(1, _blockTiles, (long)_blockTiles * positions * w.Channels, pool.ThreadCount);
            pool.For(_schedule.Chunks, this);
            _gemm.RunBatched(tactic, _v, _blockTiles, w.Channels, packedWeights, outChannels, _m, positions, pool);
            _outputPhase = true;
            _schedule.Plan(1, _blockTiles, (long)_blockTiles * positions * outChannels, pool.ThreadCount);
            pool.For(_schedule.Chunks, this);
        }
    }

    void IParallelTask.Execute(int index) => _schedule.Run(this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        switch (_tile)
        {
            case 2: RunRows<WinogradF2x2>(row0, row1); break;
            case 3: RunRows<WinogradF3x3>(row0, row1); break;
            case 4: RunRows<WinogradF4x4>(row0, row1); break;
            default: throw new InvalidOperationException($"No Winograd algorithm has output tiles of {_tile}×{_tile}.");
        }
    }

    private void RunRows<TW>(int row0, int row1) where TW : struct, IWinogradTransform
    {
        if (GemmMicroKernels.WideSupported)
        {
            if (_outputPhase) OutputTiles<TW, Float512, Vector512<float>>(row0, row1);
            else InputTiles<TW, Float512, Vector512<float>>(row0, row1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            if (_outputPhase) OutputTiles<TW, Float256, Vector256<float>>(row0, row1);
            else InputTiles<TW, Float256, Vector256<float>>(row0, row1);
        }
        else if (_outputPhase) OutputTiles<TW, Float128, Vector128<float>>(row0, row1);
        else InputTiles<TW, Float128, Vector128<float>>(row0, row1);
    }

    /// <summary>V[p][i, c] = (Bᵀ d B)[p] for the tiles i of the block in [i0, i1), d the tile's input (zero outside x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void InputTiles<TW, TOps, TV>(int i0, int i1) where TW : struct, IWinogradTransform where TOps : struct, IFloatVector<TV> where TV : struct
    {
        var w = _window;
        int positions = TW.InputTile * TW.InputTile;
        int lanes = TOps.Count, channels = w.Channels;
        nint positionStride = (nint)_blockTiles * channels, rowStride = (nint)w.InW * channels;
        float* patch = stackalloc float[positions * MaxLanes];
        float* rows = stackalloc float[positions * MaxLanes];
        float* result = stackalloc float[positions * MaxLanes];
        for (int i = i0; i < i1; i++)
        {
            var (image, ty, tx) = Locate(_block0 + i);
            int top = ty * TW.Tile - w.PadTop, left = tx * TW.Tile - w.PadLeft;
            bool inside = top >= 0 && left >= 0 && top + TW.InputTile <= w.InH && left + TW.InputTile <= w.InW;
            float* x = _x + (nint)image * w.InH * rowStride;
            for (int c0 = 0; c0 < channels; c0 += lanes)
            {
                int valid = Math.Min(lanes, channels - c0);
                float* src = x + top * rowStride + (nint)left * channels + c0;
                nint rs = rowStride, cs = channels;
                if (!inside || valid < lanes)
                {
                    Gather(x, top, left, c0, valid, lanes, TW.InputTile, patch);
                    src = patch;
                    rs = TW.InputTile * lanes;
                    cs = lanes;
                }
                for (int r = 0; r < TW.InputTile; r++)
                    TW.InputPass<TOps, TV>(src + r * rs, cs, rows + r * TW.InputTile * lanes, lanes);
                float* v = _v + (nint)i * channels + c0;
                if (valid == lanes)
                {
                    for (int b = 0; b < TW.InputTile; b++)
                        TW.InputPass<TOps, TV>(rows + b * lanes, TW.InputTile * lanes, v + b * positionStride, TW.InputTile * positionStride);
                    continue;
                }
                for (int b = 0; b < TW.InputTile; b++)
                    TW.InputPass<TOps, TV>(rows + b * lanes, TW.InputTile * lanes, result + b * lanes, TW.InputTile * lanes);
                for (int p = 0; p < positions; p++)
                    Buffer.MemoryCopy(result + p * lanes, v + p * positionStride, valid * sizeof(float), valid * sizeof(float));
            }
        }
    }

    /// <summary>
    /// The inputTile × inputTile input of a tile at (top, left), channels [c0, c0 + valid) and zeros in the other lanes
    /// and outside x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Gather(float* x, int top, int left, int c0, int valid, int lanes, int inputTile, float* patch)
    {
        var w = _window;
        new Span<float>(patch, inputTile * inputTile * lanes).Clear();
        for (int r = 0; r < inputTile; r++)
        {
            int iy = top + r;
            if (iy < 0 || iy >= w.InH) continue;
            for (int c = 0; c < inputTile; c++)
            {
                int ix = left + c;
                if (ix < 0 || ix >= w.InW) continue;
                Buffer.MemoryCopy(x + ((nint)iy * w.InW + ix) * w.Channels + c0, patch + (r * inputTile + c) * lanes, valid * sizeof(float), valid * sizeof(float));
            }
        }
    }

    /// <summary>y = act(Aᵀ M A + bias + residual) for the tiles i of the block in [i0, i1), inside the output only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OutputTiles<TW, TOps, TV>(int i0, int i1) where TW : struct, IWinogradTransform where TOps : struct, IFloatVector<TV> where TV : struct
    {
        var w = _window;
        int positions = TW.InputTile * TW.InputTile;
        int lanes = TOps.Count, channels = _outChannels;
        nint positionStride = (nint)_blockTiles * channels, ldy = _outPixelStride;
        float* patch = stackalloc float[positions * MaxLanes];
        float* rows = stackalloc float[TW.InputTile * TW.Tile * MaxLanes];
        float* tile = stackalloc float[TW.Tile * TW.Tile * MaxLanes];
        for (int i = i0; i < i1; i++)
        {
            var (image, ty, tx) = Locate(_block0 + i);
            int top = ty * TW.Tile, left = tx * TW.Tile;
            int height = Math.Min(TW.Tile, w.OutH - top), width = Math.Min(TW.Tile, w.OutW - left);
            nint pixel = ((nint)image * w.OutH + top) * w.OutW + left;
            for (int k0 = 0; k0 < channels; k0 += lanes)
            {
                int valid = Math.Min(lanes, channels - k0);
                float* src = _m + (nint)i * channels + k0;
                nint step = positionStride;
                if (valid < lanes)
                {
                    new Span<float>(patch, positions * lanes).Clear();
                    for (int p = 0; p < positions; p++)
                        Buffer.MemoryCopy(src + p * positionStride, patch + p * lanes, valid * sizeof(float), valid * sizeof(float));
                    src = patch;
                    step = lanes;
                }
                for (int r = 0; r < TW.InputTile; r++)
                    TW.OutputPass<TOps, TV>(src + r * TW.InputTile * step, step, rows + r * TW.Tile * lanes, lanes);
                for (int b = 0; b < TW.Tile; b++)
                    TW.OutputPass<TOps, TV>(rows + b * lanes, TW.Tile * lanes, tile + b * lanes, TW.Tile * lanes);
                for (int r = 0; r < height; r++)
                    for (int c = 0; c < width; c++)
                    {
                        nint at = pixel + r * w.OutW + c;
                        Finish<TOps, TV>(tile + (r * TW.Tile + c) * lanes, valid, k0, _residual == null ? null : _residual + at * channels + k0, _y + at * ldy + k0);
                    }
            }
            if (!_clamp && _activation.Kind != ActivationKind.Identity)
                for (int r = 0; r < height; r++)
                {
                    float* row = _y + (pixel + r * w.OutW) * ldy;
                    if (ldy == channels)
                        ActivationKernels.Apply(_activation, row, row, (nint)width * channels);
                    else
                        for (int c = 0; c < width; c++)
                            ActivationKernels.Apply(_activation, row + c * ldy, row + c * ldy, channels);
                }
        }
    }

    /// <summary>y[0..valid) = value + bias[k0..] + residual, clamped when the activation is Relu or Clip.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish<TOps, TV>(float* value, int valid, int k0, float* residual, float* y) where TOps : struct, IFloatVector<TV> where TV : struct
    {
        if (valid == TOps.Count)
        {
            TV sum = TOps.Load(value);
            if (_bias != null) sum = TOps.Add(sum, TOps.Load(_bias + k0));
            if (residual != null) sum = TOps.Add(sum, TOps.Load(residual));
            // max before min, NaN kept: max and min return the second operand when unordered.
            if (_clamp) sum = TOps.Min(TOps.Create(_high), TOps.Max(TOps.Create(_low), sum));
            TOps.Store(sum, y);
            return;
        }
        for (int j = 0; j < valid; j++)
        {
            float sum = value[j] + (_bias == null ? 0f : _bias[k0 + j]) + (residual == null ? 0f : residual[j]);
            y[j] = _clamp ? ScalarMath.Apply(_activation, sum) : sum;
        }
    }

    private (int Image, int TileY, int TileX) Locate(int tile)
    {
        int image = tile / _tilesPerImage, within = tile % _tilesPerImage;
        return (image, within / _tilesW, within % _tilesW);
    }
}
