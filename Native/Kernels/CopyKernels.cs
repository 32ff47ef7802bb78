using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>Data movement: gathers a strided view of a tensor into contiguous memory (Slice, Transpose, Concat, Pad).</summary>
public static unsafe class CopyKernels
{
    public const int MaxRank = 8;

    /// <summary>Floats in a 64-byte cache line.</summary>
    public const int LineFloats = 64 / sizeof(float);

    /// <summary>The place of the float at <paramref name="p"/> in its cache line, 0 to <see cref="LineFloats"/> − 1.</summary>
    public static int LinePlace(float* p) => (int)(((nint)p & 63) / sizeof(float));

    /// <summary>
    /// Writes the view of <paramref name="src"/> with the given per-dim element strides (any sign) and
    /// <paramref name="shape"/> to <paramref name="dst"/>, whose own strides are <paramref name="dstStrides"/>
    /// (null: contiguous in <paramref name="shape"/>). Rank ≤ 8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Strided(float* src, ReadOnlySpan<nint> srcStrides, float* dst, ReadOnlySpan<nint> dstStrides, ReadOnlySpan<int> shape)
    {
        if (shape.Length > MaxRank) throw new ArgumentException($"Copies are limited to rank {MaxRank}.");
        // Collapse to the fewest dims, innermost first: drop size-1 dims, merge neighbours contiguous in both.
        nint* dims = stackalloc nint[MaxRank];
        nint* s = stackalloc nint[MaxRank];
        nint* d = stackalloc nint[MaxRank];
        int rank = 0;
        nint contiguous = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 0) return;
            nint ds = dstStrides.IsEmpty ? contiguous : dstStrides[i];
            contiguous *= shape[i];
            if (shape[i] == 1) continue;
            if (rank > 0 && srcStrides[i] == s[rank - 1] * dims[rank - 1] && ds == d[rank - 1] * dims[rank - 1])
            {
                dims[rank - 1] *= shape[i];
                continue;
            }
            dims[rank] = shape[i];
            s[rank] = srcStrides[i];
            d[rank] = ds;
            rank++;
        }
        if (rank == 0)
        {
            *dst = *src;
            return;
        }
        nint inner = dims[0], si = s[0], di = d[0];
        // A transpose: the destination's rows run across the source's, and another dim is the source's contiguous one.
        // That dim leaves the walk below, and each plane of the two goes through in vector tiles (ViT-Ti/16's keys,
        // [3, 197, 64] → [3, 64, 197]: 24.8 → 5.1 µs a layer in the network) where one float at a time went before.
        int across = 0;
        if (di == 1 && si > 1 && inner >= 8 && inner <= int.MaxValue && Avx.IsSupported)
            for (int r = 1; r < rank && across == 0; r++)
                if (s[r] == 1 && dims[r] >= 8 && dims[r] <= int.MaxValue && d[r] <= int.MaxValue) across = r;
        nint acrossLength = 1, acrossStride = 0;
        if (across > 0)
        {
            (acrossLength, acrossStride) = (dims[across], d[across]);
            for (int r = across; r < rank - 1; r++) (dims[r], s[r], d[r]) = (dims[r + 1], s[r + 1], d[r + 1]);
            rank--;
        }
        nint* index = stackalloc nint[MaxRank];
        for (int i = 0; i < rank; i++) index[i] = 0;
        while (true)
        {
            if (across > 0) PackingKernels.ScaledTranspose(src, (int)inner, (int)acrossLength, 1, 1f, null, dst, (int)acrossStride, si);
            else if (si == 1 && di == 1) CopyBytes(src, dst, inner * sizeof(float));
            else for (nint k = 0; k < inner; k++) dst[k * di] = src[k * si];
            // Advance the odometer over the outer dims.
            int r = 1;
            for (; r < rank; r++)
            {
                src += s[r];
                dst += d[r];
                if (++index[r] < dims[r]) break;
                src -= s[r] * dims[r];
                dst -= d[r] * dims[r];
                index[r] = 0;
            }
            if (r == rank) return;
        }
    }

    /// <summary>
    /// Copies <paramref name="count"/> floats from <paramref name="source"/>, or writes zeros where not
    /// <paramref name="copy"/> (padding), inline: a group's few channels of one tap, where a call per piece cost more
    /// than the copy. <paramref name="source"/> is not read when not copying.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyOrClear(float* source, float* target, int count, bool copy)
    {
        int c = 0;
        if (VectorMath.IsSupported)
            for (; c + 8 <= count; c += 8)
                Avx.Store(target + c, copy ? Avx.LoadVector256(source + c) : Vector256<float>.Zero);
        for (; c < count; c++) target[c] = copy ? source[c] : 0f;
    }

    /// <summary>
    /// Copies <paramref name="count"/> floats between buffers that do not overlap; for the short runs of gathers (an
    /// im2col tap of a few channels) vector moves beat <see cref="Buffer.MemoryCopy"/>'s call and dispatch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(float* src, float* dst, nint count)
    {
        if (count < 8 || !Vector256.IsHardwareAccelerated)
        {
            for (nint i = 0; i < count; i++) dst[i] = src[i];
            return;
        }
        nint k = 0;
        for (; k + 8 <= count; k += 8) Vector256.Load(src + k).Store(dst + k);
        // The tail as one vector ending at the last float, overlapping what was just written.
        if (k < count) Vector256.Load(src + count - 8).Store(dst + count - 8);
    }

    /// <summary>Bytes below which memmove copies with vector moves, not a string move.</summary>
    private const int StringMoveBytes = 4096;

    /// <summary>
    /// Whether a string move (<c>rep movsb</c>) from <paramref name="source"/> to <paramref name="destination"/> runs
    /// into 4K aliasing: the destination 1 to 63 bytes past the source's place in a 4 KB page, where every store looks to
    /// the CPU like it may overlap the next loads. On this project's AMD EPYC hosts such moves run 3–20× slower (600 KB,
    /// 8 bytes past: 224–302 µs against 14; a 4.9 MB file read by the kernel into memory 8 bytes past its page offsets:
    /// 1,685 µs against 600–780 at other distances). memmove copies kilobytes to about a megabyte that way.
    /// </summary>
    public static bool StringMoveAliases(nint source, nint destination) => (nuint)((destination - source) & 4095) - 1 < 63;

    /// <summary>
    /// Copies <paramref name="bytes"/> bytes: with memmove, unless a string move would alias
    /// (<see cref="StringMoveAliases"/>) and the two ranges do not overlap; then with vector moves, storing whole
    /// aligned vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CopyBytes(void* source, void* destination, nint bytes)
    {
        byte* src = (byte*)source, dst = (byte*)destination;
        if (bytes < StringMoveBytes || !Vector256.IsHardwareAccelerated || !StringMoveAliases((nint)src, (nint)dst) || (dst < src + bytes && src < dst + bytes))
        {
            Buffer.MemoryCopy(src, dst, bytes, bytes);
            return;
        }
        // The first vector unaligned, then aligned ones from the first 32-byte boundary on (overlapping it).
        Vector256.Load(src).Store(dst);
        nint k = -(nint)dst & 31;
        for (; k + 64 <= bytes; k += 64)
        {
            Vector256.Load(src + k).StoreAligned(dst + k);
            Vector256.Load(src + k + 32).StoreAligned(dst + k + 32);
        }
        for (; k + 32 <= bytes; k += 32) Vector256.Load(src + k).StoreAligned(dst + k);
        // The tail as one vector ending at the last byte, overlapping what was just written.
        if (k < bytes) Vector256.Load(src + bytes - 32).Store(dst + bytes - 32);
    }

    /// <summary><see cref="CopyBytes"/> for spans of floats (as long as the source; the destination may be longer).</summary>
    public static void CopyFloats(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (source.Length > destination.Length) throw new ArgumentException("The destination is shorter than the source.", nameof(destination));
        fixed (float* src = source, dst = destination) CopyBytes(src, dst, (nint)source.Length * sizeof(float));
    }

    /// <summary>
    /// <see cref="Copy"/> that writes each whole 64-byte line of the destination with non-temporal stores, the partial
    /// lines at either end with ordinary ones. An ordinary store to a line not in cache first reads the line from
    /// memory; a streaming store does not, and leaves the caches to other data. For large results read again only
    /// later (a refit's packed weights: SqueezeNet's 8.8 MB of Winograd weights written in 345 µs streamed against 1,100
    /// ordinary, to memory not in cache). Streaming stores are weakly ordered: the writer calls
    /// <see cref="Sse.StoreFence"/> once it is done, before another thread may read the destination.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Stream(float* src, float* dst, nint count)
    {
        if (!Avx.IsSupported || ((nint)dst & (sizeof(float) - 1)) != 0)
        {
            Copy(src, dst, count);
            return;
        }
        nint head = Math.Min(count, (-(nint)dst & 63) / sizeof(float));
        Copy(src, dst, head);
        nint k = head;
        // A line in one store where the CPU has AVX-512: a line written in two halves may leave its write-combining
        // buffer half full, and a partial line costs a read of memory (Winograd's pack of a 256→256 weight to memory
        // not in cache, 9.4 MB: 664 → 485 µs).
        if (GemmMicroKernels.WideSupported)
            for (; k + 16 <= count; k += 16) Avx512F.StoreAlignedNonTemporal(dst + k, Vector512.Load(src + k));
        for (; k + 16 <= count; k += 16)
        {
            Avx.StoreAlignedNonTemporal(dst + k, Avx.LoadVector256(src + k));
            Avx.StoreAlignedNonTemporal(dst + k + 8, Avx.LoadVector256(src + k + 8));
        }
        Copy(src + k, dst + k, count - k);
    }

    /// <summary>
    /// <see cref="Stream"/> for a destination range written in order over several calls, each continuing where the
    /// last ended: the floats of a line a call does not complete wait in <paramref name="line"/> (16 floats, each at
    /// its place in the line) until a later call completes it, so every line is written whole by streaming stores.
    /// <see cref="Stream"/> writes a run's partial end lines with ordinary stores, which read the line from memory
    /// first; where many ranges are written in turn (Winograd's 36 positions, often a power of two apart) those lines
    /// also evict each other before the next run completes them (tuned ResNet-18's Winograd packing, one thread:
    /// 11.0–11.4 → 9.6–10.4 ms; SqueezeNet's 733–787 → 680–709 µs). <paramref name="lineStart"/> is the range's first
    /// float's place in its line before the first call (0 after): the floats before it are not the range's, so that
    /// line takes ordinary stores, as does the last, partial one, written by <see cref="FinishInOrder"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void StreamInOrder(float* src, float* dst, nint count, float* line, ref int lineStart)
    {
        if (!Avx2.IsSupported)
        {
            Copy(src, dst, count);
            return;
        }
        nint offset = LinePlace(dst);
        if (offset != 0)
        {
            // The line from its waiting floats and the run's first ones, in registers (masked loads read nothing outside the run).
            nint filled = Math.Min(LineFloats, offset + count);
            var low = Merge(line, src - offset, offset, filled, 0);
            var high = Merge(line, src - offset, offset, filled, 8);
            if (filled < LineFloats)
            {
                low.Store(line);
                high.Store(line + 8);
                return;
            }
            float* lineDst = dst - offset;
            if (lineStart == 0)
            {
                Avx.StoreAlignedNonTemporal(lineDst, low);
                Avx.StoreAlignedNonTemporal(lineDst + 8, high);
            }
            else
            {
                low.Store(line);
                high.Store(line + 8);
                Copy(line + lineStart, lineDst + lineStart, LineFloats - lineStart);
                lineStart = 0;
            }
            src += LineFloats - offset;
            dst += LineFloats - offset;
            count -= LineFloats - offset;
        }
        nint k = 0;
        for (; k + LineFloats <= count; k += LineFloats)
        {
            Avx.StoreAlignedNonTemporal(dst + k, Avx.LoadVector256(src + k));
            Avx.StoreAlignedNonTemporal(dst + k + 8, Avx.LoadVector256(src + k + 8));
        }
        if (k < count)
        {
            Merge(line, src + k, 0, count - k, 0).Store(line);
            Merge(line, src + k, 0, count - k, 8).Store(line + 8);
        }
    }

    /// <summary>Floats at + 0 … at + 7 of a line: from <paramref name="src"/> where their place is in [from, to), else from <paramref name="line"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Merge(float* line, float* src, nint from, nint to, int at)
    {
        var place = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) + Vector256.Create(at);
        var mask = (Vector256.GreaterThanOrEqual(place, Vector256.Create((int)from)) & Vector256.LessThan(place, Vector256.Create((int)to))).AsSingle();
        return Avx.BlendVariable(Vector256.Load(line + at), Avx.MaskLoad(src + at, mask), mask);
    }

    /// <summary>Writes the floats of <see cref="StreamInOrder"/>'s last, partial line, which ends at <paramref name="end"/>.</summary>
    public static void FinishInOrder(float* end, float* line, int lineStart)
    {
        if (!Avx2.IsSupported) return;
        int offset = LinePlace(end);
        if (offset > lineStart) Copy(line + lineStart, end - offset + lineStart, offset - lineStart);
    }

    /// <summary>Orders the streaming stores of <see cref="Stream"/> before whatever the calling thread does next (publishing what it wrote).</summary>
    public static void EndStream()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }

    /// <summary>
    /// y[p·C + c] = x[c·<paramref name="planeStride"/> + p] for <paramref name="count"/> pixels of C =
    /// <paramref name="channels"/> planes: channel planes (NCHW) to interleaved pixels (HWC). Three planes (an RGB
    /// image, the usual case) go eight pixels at a time; other counts a plane at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InterleavePlanes(float* x, nint planeStride, int channels, int count, float* y)
    {
        int p = 0;
        if (channels == 3 && Avx2.IsSupported)
            for (; p <= count - 8; p += 8)
            {
                var r = Avx.LoadVector256(x + p);
                var g = Avx.LoadVector256(x + planeStride + p);
                var b = Avx.LoadVector256(x + 2 * planeStride + p);
                float* o = y + (nint)p * 3;
                // Each output vector takes its lanes from the three planes by one permute each and two blends (mask bits
                // pick the second operand): r g b r g b r g, then b r g b r g b r, then g b r g b r g b.
                Avx.Store(o, Avx.Blend(Avx.Blend(Avx2.PermuteVar8x32(r, RedFirst), Avx2.PermuteVar8x32(g, GreenFirst), 0b1001_0010), Avx2.PermuteVar8x32(b, BlueFirst), 0b0010_0100));
                Avx.Store(o + 8, Avx.Blend(Avx.Blend(Avx2.PermuteVar8x32(r, RedSecond), Avx2.PermuteVar8x32(g, GreenSecond), 0b0010_0100), Avx2.PermuteVar8x32(b, BlueSecond), 0b0100_1001));
                Avx.Store(o + 16, Avx.Blend(Avx.Blend(Avx2.PermuteVar8x32(r, RedThird), Avx2.PermuteVar8x32(g, GreenThird), 0b0100_1001), Avx2.PermuteVar8x32(b, BlueThird), 0b1001_0010));
            }
        for (int c = 0; c < channels; c++)
        {
            float* plane = x + c * planeStride, interleaved = y + c;
            for (int q = p; q < count; q++) interleaved[(nint)q * channels] = plane[q];
        }
    }

    private static readonly Vector256<int> RedFirst = Vector256.Create(0, 0, 0, 1, 0, 0, 2, 0), GreenFirst = Vector256.Create(0, 0, 0, 0, 1, 0, 0, 2),
        BlueFirst = Vector256.Create(0, 0, 0, 0, 0, 1, 0, 0), RedSecond = Vector256.Create(0, 3, 0, 0, 4, 0, 0, 5),
        GreenSecond = Vector256.Create(0, 0, 3, 0, 0, 4, 0, 0), BlueSecond = Vector256.Create(2, 0, 0, 3, 0, 0, 4, 0),
        RedThird = Vector256.Create(0, 0, 6, 0, 0, 7, 0, 0), GreenThird = Vector256.Create(5, 0, 0, 6, 0, 0, 7, 0),
        BlueThird = Vector256.Create(0, 5, 0, 0, 6, 0, 0, 7);

    public static void Fill(float* dst, nint count, float value) => new Span<float>(dst, checked((int)count)).Fill(value);

    /// <summary>Row-major element strides of a shape.</summary>
    public static void ContiguousStrides(ReadOnlySpan<int> shape, Span<nint> strides)
    {
        nint stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= shape[i];
        }
    }
}
