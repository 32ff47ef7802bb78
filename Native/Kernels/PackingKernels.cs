using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// The copies weight recipes are made of (scaled copies and transposes), vectorised so that re-deriving a weight
/// at refit costs about what copying its bytes costs. Results are bit-identical to the scalar forms: each element is
/// one float multiply (skipped when the scale is 1). Each returns the sum of the values it wrote, which a refit uses
/// instead of scanning the weights again for NaN and infinity: the sum is finite only if every value written is (an
/// overflowing sum of finite values only sends the refit to scan), and a value written is factor × source value, so
/// a finite one proves its source value finite.
/// </summary>
internal static unsafe class PackingKernels
{
    /// <summary>
    /// Zeroes the columns [<paramref name="valid"/>, <paramref name="nr"/>) of a panel's <paramref name="rows"/> rows
    /// of <paramref name="nr"/> floats (a multiple of 8): a last panel's padding, cleared alone so the packed values
    /// are written once. Whole vectors from the one holding column <paramref name="valid"/> on, so it must run before
    /// the valid columns are written.
    /// </summary>
    public static void ClearPadding(float* panel, int rows, int nr, int valid)
    {
        for (int row = 0; row < rows; row++)
            for (int c = valid / 8 * 8; c < nr; c += 8) Vector256<float>.Zero.Store(panel + (nint)row * nr + c);
    }

    /// <summary>
    /// A BatchNormalization folded into the convolution before it, per output channel o: factors[o] = scale[o] / √(variance[o]
    /// + ε) when <paramref name="factors"/> is not null, and folded[o] = (bias[o] − mean[o]) · that factor + shift[o] (bias
    /// null: 0) when <paramref name="folded"/> is not null; in double, rounded once to float. Four channels per vector: IEEE
    /// square root and division round exactly, so the vector and scalar forms agree bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FoldBatchNorm(float* scale, float* variance, double epsilon, int n, float* factors,
        float* bias, float* shift, float* mean, float* folded)
    {
        int o = 0;
        if (Avx.IsSupported)
        {
            var eps = Vector256.Create(epsilon);
            for (; o <= n - 4; o += 4)
            {
                var factor = Avx.Divide(Avx.ConvertToVector256Double(Sse.LoadVector128(scale + o)),
                    Avx.Sqrt(Avx.Add(Avx.ConvertToVector256Double(Sse.LoadVector128(variance + o)), eps)));
                if (factors != null) Sse.Store(factors + o, Avx.ConvertToVector128Single(factor));
                if (folded == null) continue;
                var b = bias == null ? Vector256<double>.Zero : Avx.ConvertToVector256Double(Sse.LoadVector128(bias + o));
                var value = Avx.Add(Avx.Multiply(Avx.Subtract(b, Avx.ConvertToVector256Double(Sse.LoadVector128(mean + o))), factor),
                    Avx.ConvertToVector256Double(Sse.LoadVector128(shift + o)));
                Sse.Store(folded + o, Avx.ConvertToVector128Single(value));
            }
        }
        for (; o < n; o++)
        {
            double factor = scale[o] / Math.Sqrt(variance[o] + epsilon);
            if (factors != null) factors[o] = (float)factor;
            if (folded != null) folded[o] = (float)(((bias == null ? 0 : (double)bias[o]) - mean[o]) * factor + shift[o]);
        }
    }

    /// <summary>
    /// dst[i] = src[i] for i &lt; n; returns whether every value is finite (no exponent with all bits set). The check
    /// keeps the largest magnitude's bits (integer maxima, one cycle a vector), not a sum, whose three-cycle additions
    /// held such a copy to about 1.3× a memmove. Four 256-bit vectors a step ran as fast as two 512-bit ones. The
    /// loads are aligned to the source (the stores then straddle lines as they fall): over the alignments a .NET array
    /// can have, tiny_mlp's weights copied in 827–1,062 ns against 901–1,102 with unaligned loads (a memmove: 771–851).
    /// A source off float boundaries (raw bytes inside a file's buffer) cannot be so aligned: its loads straddle.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool CopyFinite(float* src, float* dst, nint n)
    {
        const uint Infinity = 0x7F800000u, Magnitude = 0x7FFFFFFFu;
        Vector256<uint> max0 = default, max1 = default, magnitude = Vector256.Create(Magnitude);
        uint largest = 0;
        nint i = 0;
        for (nint head = Math.Min(n, (-(nint)src & 31) / sizeof(float)); i < head; i++)
        {
            dst[i] = src[i];
            largest = Math.Max(largest, BitConverter.SingleToUInt32Bits(src[i]) & Magnitude);
        }
        for (; i <= n - 32; i += 32)
        {
            var a = Vector256.Load(src + i);
            var b = Vector256.Load(src + i + 8);
            var c = Vector256.Load(src + i + 16);
            var d = Vector256.Load(src + i + 24);
            a.Store(dst + i);
            b.Store(dst + i + 8);
            c.Store(dst + i + 16);
            d.Store(dst + i + 24);
            max0 = Vector256.Max(max0, Vector256.Max(a.AsUInt32() & magnitude, b.AsUInt32() & magnitude));
            max1 = Vector256.Max(max1, Vector256.Max(c.AsUInt32() & magnitude, d.AsUInt32() & magnitude));
        }
        for (; i < n; i++)
        {
            dst[i] = src[i];
            largest = Math.Max(largest, BitConverter.SingleToUInt32Bits(src[i]) & Magnitude);
        }
        return largest < Infinity && Vector256.LessThanAll(Vector256.Max(max0, max1), Vector256.Create(Infinity));
    }

    /// <summary>dst[i] = scale · src[i] for i &lt; n; returns the sum of the values written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ScaledCopy(float* src, float* dst, nint n, float scale)
    {
        nint i = 0;
        Vector256<float> sum0 = default, sum1 = default;
        if (Vector256.IsHardwareAccelerated)
        {
            // Two sums, so the additions' latency does not hold back the copy.
            var s = Vector256.Create(scale);
            if (scale == 1f)
                for (; i <= n - 16; i += 16)
                {
                    var a = Vector256.Load(src + i);
                    var b = Vector256.Load(src + i + 8);
                    a.Store(dst + i);
                    b.Store(dst + i + 8);
                    (sum0, sum1) = (sum0 + a, sum1 + b);
                }
            for (; i <= n - 8; i += 8)
            {
                var a = scale == 1f ? Vector256.Load(src + i) : Vector256.Load(src + i) * s;
                a.Store(dst + i);
                sum0 += a;
            }
        }
        float tail = 0;
        for (; i < n; i++) tail += dst[i] = scale == 1f ? src[i] : scale * src[i];
        return Vector256.Sum(sum0 + sum1) + tail;
    }

    /// <summary>
    /// Writes the transpose of <paramref name="rows"/> source rows of <paramref name="length"/> floats (row stride
    /// <paramref name="srcStride"/>, or <paramref name="length"/> when 0), each row j times its own factor (<paramref name="factors"/>[j], or
    /// <paramref name="scale"/> for every row when there are none), with the source columns permuted: column
    /// p = c · taps + t lands in destination row t · (length / taps) + c (taps = 1: no permutation). So
    /// dst[row(p) · dstStride + j] = factor_j · src[j · srcStride + p]: a GEMM weight's transpose, or a convolution
    /// weight's OIHW → [(kh, kw, c), outC] reorder. Runs in 8×8 tiles held in registers, so both sides are read and
    /// written in whole vectors, over column chunks whose destination rows stay in cache. Returns the sum of the
    /// values written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static float ScaledTranspose(float* src, int rows, int length, int taps, float scale, float* factors, float* dst, int dstStride, nint srcStride = 0)
    {
        nint stride = srcStride == 0 ? length : srcStride;
        if (taps < 1 || length % taps != 0) throw new ArgumentException($"{length} columns do not hold whole groups of {taps} taps.");
        int channels = length / taps;
        // Column chunks of whole tap groups and whole 16-column tiles: column p0 + i of every chunk then lands at the same
        // offset from the chunk's first destination row, p0 / taps, so the offsets are worked out once, not per chunk
        // (where they took a third of a 3×3 weight's transpose: 32 rows × 4,608 columns in cache, 16 → 28 GB/s).
        int chunkColumns = 16 * taps * Math.Max(1, 8 / taps);
        int vectorRows = Avx.IsSupported ? rows / 8 * 8 : 0;
        // Groups of 16 rows go 512 bits wide where the CPU has it: a 16×16 tile takes half the shuffles per float of
        // two 8×8 ones.
        int wideRows = GemmMicroKernels.WideSupported ? rows / 16 * 16 : 0;
        Vector512<float> wideSum = default;
        // Kernels past 11×11 take their table from the heap.
        Span<nint> table = chunkColumns <= 2048 ? stackalloc nint[chunkColumns] : new nint[chunkColumns];
        for (int i = 0, c = 0, t = 0; i < Math.Min(chunkColumns, length); i++)
        {
            table[i] = ((nint)t * channels + c) * dstStride;
            if (++t == taps) (t, c) = (0, c + 1);
        }
        Vector256<float> sum = default;
        float tail = 0;
        fixed (nint* rowOffsets = table)
        {
            for (int p0 = 0; p0 < length; p0 += chunkColumns)
            {
                int p1 = Math.Min(length, p0 + chunkColumns), vectorEnd = p0 + (p1 - p0) / 8 * 8;
                float* chunk = dst + (nint)(p0 / taps) * dstStride;
                // Rows in whole tiles take the vector path below, except the columns past the last whole tile.
                for (int j = vectorEnd < p1 ? 0 : vectorRows; j < rows; j++)
                {
                    float factor = factors == null ? scale : factors[j];
                    for (int p = j < vectorRows ? vectorEnd : p0; p < p1; p++)
                        tail += chunk[rowOffsets[p - p0] + j] = factor * src[j * stride + p];
                }
                int wideEnd = p0 + (p1 - p0) / 16 * 16;
                for (int j = 0; j < wideRows; j += 16)
                {
                    var m = factors == null ? Vector512.Create(scale) : Vector512.Load(factors + j);
                    for (int p = p0; p < wideEnd; p += 16)
                    {
                        // As below: sixteen source rows, each one's line four ahead (ResNet-18's packing 8–9% faster), into L2:
                        // rows a power-of-two-like stride apart fall in the same few L1 sets, where 64 lines in flight evict
                        // each other before they are read (ResNet-18's in-memory refit 6.5–6.8 → 5.3–6.1 ms, MobileNetV2's
                        // 1.03–1.22 → 0.81–0.99).
                        float* tile = src + j * stride + p;
                        for (int r = 0; r < 16; r++) Sse.Prefetch1(tile + r * stride + 64);
                        wideSum += Transpose16x16(tile, stride, m, chunk + j, rowOffsets + (p - p0));
                    }
                }
                for (int j = 0; j < vectorRows; j += 8)
                {
                    var m = factors == null ? Vector256.Create(scale) : Vector256.Load(factors + j);
                    // Rows of the 16-row groups have their columns up to wideEnd written already.
                    for (int p = j < wideRows ? wideEnd : p0; p < vectorEnd; p += 8)
                    {
                        float* tile = src + j * stride + p;
                        // The eight source rows are far apart (one per output channel): ask for each one's next line
                        // ahead of time, as the hardware prefetchers lose track of that many streams.
                        if (Sse.IsSupported && ((p - p0) & 15) == 0)
                            for (int r = 0; r < 8; r++) Sse.Prefetch0(tile + r * stride + 64);
                        sum += Transpose8x8(tile, stride, m, chunk + j, rowOffsets + (p - p0));
                    }
                }
            }
        }
        return Vector256.Sum(sum) + Vector512.Sum(wideSum) + tail;
    }

    /// <summary>
    /// The first line boundary at or after <paramref name="p"/>, in a buffer of <see cref="CopyKernels.LineFloats"/> more floats than
    /// it needs: a scratch buffer so aligned takes whole-line vector stores (Winograd's pack of SqueezeNet's largest
    /// weight, 64→256 channels, from its transposed copy and block so aligned: 154–157 → 129–139 µs).
    /// </summary>
    public static float* LineAligned(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    /// <summary>
    /// A GEMM B operand's column panels of width <paramref name="nr"/>, from w holding [n, k] (<paramref name="transposed"/>:
    /// Bᵀ, or a convolution weight with its columns permuted by <paramref name="taps"/> as <see cref="ScaledTranspose"/>
    /// does) or [k, n], times <paramref name="scale"/> (transposed, row j times factors[j] when there are factors): panel p holds columns
    /// p·nr … p·nr + nr − 1 as k rows of nr floats, the last panel's columns past n zero. Only the panels
    /// [<paramref name="firstPanel"/>, <paramref name="endPanel"/>) are written. Streaming (a refit's or build's large
    /// output), each panel is built in a buffer that stays in cache and then written out whole with
    /// <see cref="CopyKernels.Stream"/>: the transpose's scattered stores, to memory not in cache, would each read their
    /// line first. Returns the sum of the values written.
    /// </summary>
    public static float Panels(float* w, int n, int k, bool transposed, int taps, float scale, float* factors, int nr, float* packed,
                               int firstPanel, int endPanel, bool stream)
    {
        nint panelFloats = (nint)nr * k;
        float[]? staging = stream ? ArrayPool<float>.Shared.Rent(checked((int)panelFloats + CopyKernels.LineFloats)) : null;
        float sum = 0;
        fixed (float* rented = staging)
        {
            float* stage = LineAligned(rented);
            for (int panel = firstPanel, j0 = firstPanel * nr; panel < endPanel && j0 < n; panel++, j0 += nr)
            {
                int cols = Math.Min(nr, n - j0);
                float* dst = packed + panel * panelFloats, target = stream ? stage : dst;
                if (cols < nr) ClearPadding(target, k, nr, cols);
                if (transposed)
                    sum += ScaledTranspose(w + (nint)j0 * k, cols, k, taps, scale, factors == null ? null : factors + j0, target, nr);
                else
                    for (int p = 0; p < k; p++)
                        sum += ScaledCopy(w + (nint)p * n + j0, target + (nint)p * nr, cols, scale);
                if (stream) CopyKernels.Stream(stage, dst, panelFloats);
            }
        }
        if (staging != null)
        {
            ArrayPool<float>.Shared.Return(staging);
            CopyKernels.EndStream();
        }
        return sum;
    }

    /// <summary>
    /// <see cref="Transpose8x8"/> for a 16×16 tile in 512-bit registers: rows interleave in pairs, then in fours, then
    /// 128-bit lanes move twice, so each source column ends in one vector, stored times scale at dst + offsets[column].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Transpose16x16(float* src, nint stride, Vector512<float> scale, float* dst, nint* offsets)
    {
        // Pairs of rows: UnpackLow of rows 2q, 2q + 1 holds their columns 4l, 4l + 1 in 128-bit lane l, UnpackHigh 4l + 2, 4l + 3.
        var (t0, t1) = Pair(src, stride);
        var (t2, t3) = Pair(src + 2 * stride, stride);
        var (t4, t5) = Pair(src + 4 * stride, stride);
        var (t6, t7) = Pair(src + 6 * stride, stride);
        var (t8, t9) = Pair(src + 8 * stride, stride);
        var (t10, t11) = Pair(src + 10 * stride, stride);
        var (t12, t13) = Pair(src + 12 * stride, stride);
        var (t14, t15) = Pair(src + 14 * stride, stride);
        // Fours: column 4l + c of each group of four rows in lane l, for c = 0..3.
        return StoreLanes(Avx512F.Shuffle(t0, t2, 0x44), Avx512F.Shuffle(t4, t6, 0x44), Avx512F.Shuffle(t8, t10, 0x44), Avx512F.Shuffle(t12, t14, 0x44), scale, dst, offsets) +
               StoreLanes(Avx512F.Shuffle(t0, t2, 0xEE), Avx512F.Shuffle(t4, t6, 0xEE), Avx512F.Shuffle(t8, t10, 0xEE), Avx512F.Shuffle(t12, t14, 0xEE), scale, dst, offsets + 1) +
               StoreLanes(Avx512F.Shuffle(t1, t3, 0x44), Avx512F.Shuffle(t5, t7, 0x44), Avx512F.Shuffle(t9, t11, 0x44), Avx512F.Shuffle(t13, t15, 0x44), scale, dst, offsets + 2) +
               StoreLanes(Avx512F.Shuffle(t1, t3, 0xEE), Avx512F.Shuffle(t5, t7, 0xEE), Avx512F.Shuffle(t9, t11, 0xEE), Avx512F.Shuffle(t13, t15, 0xEE), scale, dst, offsets + 3);
    }

    /// <summary>Rows 0 and 1 at <paramref name="src"/> interleaved: (UnpackLow, UnpackHigh).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Low, Vector512<float> High) Pair(float* src, nint stride)
    {
        var a = Vector512.Load(src);
        var b = Vector512.Load(src + stride);
        return (Avx512F.UnpackLow(a, b), Avx512F.UnpackHigh(a, b));
    }

    /// <summary>
    /// Columns c, c + 4, c + 8, c + 12 from the four row groups' vectors (column c + 4l in lane l), each stored times
    /// scale at dst + offsets[4l] (offsets points at column c's); returns their lane-wise sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> StoreLanes(Vector512<float> g0, Vector512<float> g1, Vector512<float> g2, Vector512<float> g3, Vector512<float> scale, float* dst, nint* offsets)
    {
        var even0 = Avx512F.Shuffle4x128(g0, g1, 0x88);
        var odd0 = Avx512F.Shuffle4x128(g0, g1, 0xDD);
        var even1 = Avx512F.Shuffle4x128(g2, g3, 0x88);
        var odd1 = Avx512F.Shuffle4x128(g2, g3, 0xDD);
        var c0 = Avx512F.Shuffle4x128(even0, even1, 0x88) * scale;
        var c8 = Avx512F.Shuffle4x128(even0, even1, 0xDD) * scale;
        var c4 = Avx512F.Shuffle4x128(odd0, odd1, 0x88) * scale;
        var c12 = Avx512F.Shuffle4x128(odd0, odd1, 0xDD) * scale;
        c0.Store(dst + offsets[0]);
        c4.Store(dst + offsets[4]);
        c8.Store(dst + offsets[8]);
        c12.Store(dst + offsets[12]);
        return (c0 + c4) + (c8 + c12);
    }

    /// <summary>
    /// Transposes the 8×8 tile at src and stores its row i (source column i) times scale at dst + offsets[i]; returns
    /// the lane-wise sum of the rows stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Transpose8x8(float* src, nint srcStride, Vector256<float> scale, float* dst, nint* offsets)
    {
        // Rows r and r + 4 share a vector (first four columns, then the last four), loaded half by half: that takes
        // the place of the cross-lane shuffles. Then pairs interleave and quadruples combine: column c ends in vector c.
        var a0 = Load2x128(src, src + 4 * srcStride);
        var a1 = Load2x128(src + srcStride, src + 5 * srcStride);
        var a2 = Load2x128(src + 2 * srcStride, src + 6 * srcStride);
        var a3 = Load2x128(src + 3 * srcStride, src + 7 * srcStride);
        var b0 = Load2x128(src + 4, src + 4 * srcStride + 4);
        var b1 = Load2x128(src + srcStride + 4, src + 5 * srcStride + 4);
        var b2 = Load2x128(src + 2 * srcStride + 4, src + 6 * srcStride + 4);
        var b3 = Load2x128(src + 3 * srcStride + 4, src + 7 * srcStride + 4);
        return StoreColumns(Avx.UnpackLow(a0, a1), Avx.UnpackHigh(a0, a1), Avx.UnpackLow(a2, a3), Avx.UnpackHigh(a2, a3), scale, dst, offsets) +
               StoreColumns(Avx.UnpackLow(b0, b1), Avx.UnpackHigh(b0, b1), Avx.UnpackLow(b2, b3), Avx.UnpackHigh(b2, b3), scale, dst, offsets + 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load2x128(float* low, float* high) => Avx.InsertVector128(Avx.LoadVector128(low).ToVector256Unsafe(), Avx.LoadVector128(high), 1);

    /// <summary>
    /// Four columns from the interleaved pairs of rows 0/1 (low, high) and 2/3, each stored times scale at
    /// dst + offsets[i]; returns their lane-wise sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> StoreColumns(Vector256<float> low01, Vector256<float> high01, Vector256<float> low23, Vector256<float> high23, Vector256<float> scale, float* dst, nint* offsets)
    {
        var c0 = Avx.Shuffle(low01, low23, 0x44) * scale;
        var c1 = Avx.Shuffle(low01, low23, 0xEE) * scale;
        var c2 = Avx.Shuffle(high01, high23, 0x44) * scale;
        var c3 = Avx.Shuffle(high01, high23, 0xEE) * scale;
        Avx.Store(dst + offsets[0], c0);
        Avx.Store(dst + offsets[1], c1);
        Avx.Store(dst + offsets[2], c2);
        Avx.Store(dst + offsets[3], c3);
        return (c0 + c1) + (c2 + c3);
    }
}
