using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// Register-tiled GEMM micro-kernels: C[rows, nr] (+)= A[rows, kc]·B[kc, nr], then bias and activation while the
/// tile is hot. A element (i, p) is at a[i·rs + p·cs], so both A layouts need no packing;
/// B rows are nr contiguous floats, ldb apart. C is always a full nr wide (edges go through a scratch tile).
/// The bias and a Relu, Clip or HardSwish are applied in registers before the tile is stored (small-K tiles are bound
/// by their stores: a second pass over the stored tile cost 3136 × 16 × 48 on 6×16 tiles 11%, and 3136 × 24 × 96 with
/// HardSwish 12–14%); other activations run over the stored tile while it is still in L1.
/// Wide tactics use 512-bit registers where the CPU has AVX-512 (12×32 tiles), the portable path elsewhere.
/// Kernels are compiled fully optimised on first use: a layer must not run tier-0 code while tiering catches up.
/// </summary>
internal static unsafe class GemmMicroKernels
{
    public const int MaxTileFloats = 12 * 32;

    /// <summary>
    /// Whether the 512-bit kernels (wide tactics) run here: the CPU has AVX-512 and the runtime prefers 512-bit vectors
    /// (DOTNET_PreferredVectorBitWidth=256 or DOTNET_EnableAVX512=0 turn them off), as HardwareInfo reports it.
    /// </summary>
    public static bool WideSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && VectorMath.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(bool wide, int nr, int rows, float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation, bool stream = false)
    {
        if (InRegisters(wide, nr))
        {
            Registers<Contiguous>(wide, nr, rows, a, rs, cs, null, 1, b, ldb, kc, c, ldc, accumulate, bias, activation, stream);
            return;
        }
        if (!VectorMath.IsSupported || wide)
        {
            Portable(nr, rows, a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation);
            return;
        }
        switch (nr * 8 + rows)
        {
            case 16 * 8 + 1: Kernel16<R1>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 16 * 8 + 2: Kernel16<R2>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 16 * 8 + 3: Kernel16<R3>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 16 * 8 + 4: Kernel16<R4>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 16 * 8 + 5: Kernel16<R5>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 16 * 8 + 6: Kernel16<R6>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 24 * 8 + 1: Kernel24<R1>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 24 * 8 + 2: Kernel24<R2>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 24 * 8 + 3: Kernel24<R3>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 24 * 8 + 4: Kernel24<R4>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 32 * 8 + 1: Kernel32<R1>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            case 32 * 8 + 2: Kernel32<R2>(a, rs, cs, b, ldb, kc, c, ldc, accumulate, bias, activation); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows), $"No {rows}x{nr} micro-kernel.");
        }
        ActivateStored(activation, c, ldc, rows, nr);
    }

    /// <summary>
    /// <see cref="Tile"/> over a convolution's windows read in place, for the tactics <see cref="ReadsWindows"/> allows:
    /// A's row i at column t·kc + p is a[i·rs + taps[t] + p], output pixel i's channel p
    /// at its window's tap t; B is packed (rows nr floats apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TileWindows(bool wide, int nr, int rows, float* a, nint rs, nint* taps, int tapCount, int kc, float* b,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation) =>
        Registers<Windows>(wide, nr, rows, a, rs, 1, taps, tapCount, b, nr, kc, c, ldc, accumulate, bias, activation, false);

    /// <summary>Output pixels a <see cref="PlanarTile"/> computes.</summary>
    public const int PlanarPixels = 6;

    /// <summary>Columns a <see cref="PlanarTile"/> computes for a tactic: 32 for 512-bit panels of 32 or more, else 16.</summary>
    public static int PlanarColumns(GemmTactic tactic) => tactic.Wide && tactic.Nr % 32 == 0 && WideSupported ? 32 : 16;

    /// <summary>
    /// <see cref="PlanarPixels"/> output pixels × <see cref="PlanarColumns"/> of a convolution whose windows lie inside an
    /// image held as planes (a network input read in place), read there, not from a band: pixel i's window starts at
    /// x + i·step, a kernel row rowStride floats below the last, a channel plane floats on. The sums run in the band
    /// kernel's order (kernel row, column, channel: B's rows, ldb apart), so each output has the bits
    /// <see cref="TileWindows"/> gives it. Each broadcast value feeds two vectors a pixel: 16 columns in 256-bit ones
    /// even on AVX-512, where a 16-wide 512-bit row (one vector a value) ran a stem 1.5× as long; nothing is copied.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PlanarTile(int columns, float* x, nint step, nint plane, nint rowStride, int channels, int kernelH, int kernelW, float* b, nint ldb,
        float* c, nint ldc, float* bias, in Activation activation)
    {
        if (columns == 32) Planar<Float512, Vector512<float>>(x, step, plane, rowStride, channels, kernelH, kernelW, b, ldb, c, ldc, bias, activation);
        else Planar<Float256, Vector256<float>>(x, step, plane, rowStride, channels, kernelH, kernelW, b, ldb, c, ldc, bias, activation);
        ActivateStored(activation, c, ldc, PlanarPixels, columns);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Planar<TOps, TV>(float* x, nint step, nint plane, nint rowStride, int channels, int kernelH, int kernelW, float* b, nint ldb,
        float* c, nint ldc, float* bias, in Activation activation) where TOps : struct, IFloatVector<TV> where TV : struct
    {
        TV c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        TV c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint s2 = 2 * step, s3 = 3 * step, s4 = 4 * step, s5 = 5 * step;
        for (int i = 0; i < kernelH; i++)
            for (int j = 0; j < kernelW; j++)
            {
                float* v = x + i * rowStride + j;
                for (int ch = 0; ch < channels; ch++, v += plane, b += ldb)
                {
                    var b0 = TOps.Load(b);
                    var b1 = TOps.Load(b + TOps.Count);
                    var a = TOps.Create(v[0]);
                    c00 = TOps.MultiplyAdd(a, b0, c00);
                    c01 = TOps.MultiplyAdd(a, b1, c01);
                    a = TOps.Create(v[step]);
                    c10 = TOps.MultiplyAdd(a, b0, c10);
                    c11 = TOps.MultiplyAdd(a, b1, c11);
                    a = TOps.Create(v[s2]);
                    c20 = TOps.MultiplyAdd(a, b0, c20);
                    c21 = TOps.MultiplyAdd(a, b1, c21);
                    a = TOps.Create(v[s3]);
                    c30 = TOps.MultiplyAdd(a, b0, c30);
                    c31 = TOps.MultiplyAdd(a, b1, c31);
                    a = TOps.Create(v[s4]);
                    c40 = TOps.MultiplyAdd(a, b0, c40);
                    c41 = TOps.MultiplyAdd(a, b1, c41);
                    a = TOps.Create(v[s5]);
                    c50 = TOps.MultiplyAdd(a, b0, c50);
                    c51 = TOps.MultiplyAdd(a, b1, c51);
                }
            }

        var (epilogue, low, high) = EpilogueOf(activation);
        TV lo = TOps.Create(low), hi = TOps.Create(high);
        float* bias2 = bias == null ? null : bias + TOps.Count;
        Put<TOps, TV>(c, c00, false, bias, epilogue, lo, hi, false);
        Put<TOps, TV>(c + TOps.Count, c01, false, bias2, epilogue, lo, hi, false);
        Put<TOps, TV>(c + ldc, c10, false, bias, epilogue, lo, hi, false);
        Put<TOps, TV>(c + ldc + TOps.Count, c11, false, bias2, epilogue, lo, hi, false);
        Put<TOps, TV>(c + 2 * ldc, c20, false, bias, epilogue, lo, hi, false);
        Put<TOps, TV>(c + 2 * ldc + TOps.Count, c21, false, bias2, epilogue, lo, hi, false);
        Put<TOps, TV>(c + 3 * ldc, c30, false, bias, epilogue, lo, hi, false);
        Put<TOps, TV>(c + 3 * ldc + TOps.Count, c31, false, bias2, epilogue, lo, hi, false);
        Put<TOps, TV>(c + 4 * ldc, c40, false, bias, epilogue, lo, hi, false);
        Put<TOps, TV>(c + 4 * ldc + TOps.Count, c41, false, bias2, epilogue, lo, hi, false);
        Put<TOps, TV>(c + 5 * ldc, c50, false, bias, epilogue, lo, hi, false);
        Put<TOps, TV>(c + 5 * ldc + TOps.Count, c51, false, bias2, epilogue, lo, hi, false);
    }

    /// <summary>Whether a tactic of this width runs a register kernel here (512-bit ones, or the 8-wide narrow one).</summary>
    public static bool InRegisters(bool wide, int nr) => wide ? nr is 16 or 32 && WideSupported : nr == 8 && VectorMath.IsSupported;

    /// <summary>
    /// Whether <see cref="TileWindows"/> runs a tactic of this width: the register kernels, and 16-wide 256-bit tiles
    /// (whose tactics have at most 6 rows: 12 accumulators).
    /// </summary>
    public static bool ReadsWindows(bool wide, int nr) => InRegisters(wide, nr) || (!wide && nr == 16 && VectorMath.IsSupported);

    // Registers and Rows are compiled once, fully optimised, like the kernels they dispatch to: tiered compilation's
    // dynamic PGO otherwise compiles them for the tiles of the first model a process runs, and a later model's tiles
    // paid for it (the benchmark's LSTM at batch 1 after tiny_mlp: 698–800 µs a call against 288–309 run first).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Registers<TWindow>(bool wide, int nr, int rows, float* a, nint rs, nint cs, nint* taps, int tapCount, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation, bool stream) where TWindow : struct
    {
        var (epilogue, low, high) = EpilogueOf(activation);
        if (!wide && nr == 16) Rows<Float256, Vector256<float>, R2, TWindow>(rows, a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream);
        else if (!wide) Rows<Float256, Vector256<float>, R1, TWindow>(rows, a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream);
        else if (nr == 32) Rows<Float512, Vector512<float>, R2, TWindow>(rows, a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream);
        else Rows<Float512, Vector512<float>, R1, TWindow>(rows, a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream);
        ActivateStored(activation, c, ldc, rows, nr);
    }

    /// <summary>The register kernel for <paramref name="rows"/> rows of <typeparamref name="TVectors"/> vectors of <typeparamref name="TV"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TOps, TV, TVectors, TWindow>(int rows, float* a, nint rs, nint cs, nint* taps, int tapCount, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, RegisterEpilogue epilogue, float low, float high, bool stream)
        where TOps : struct, IFloatVector<TV> where TV : struct where TVectors : struct, ICount where TWindow : struct
    {
        switch (rows)
        {
            case 1: KernelRegisters<TOps, TV, R1, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 2: KernelRegisters<TOps, TV, R2, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 3: KernelRegisters<TOps, TV, R3, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 4: KernelRegisters<TOps, TV, R4, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 5: KernelRegisters<TOps, TV, R5, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 6: KernelRegisters<TOps, TV, R6, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 7: KernelRegisters<TOps, TV, R7, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 8: KernelRegisters<TOps, TV, R8, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 9: KernelRegisters<TOps, TV, R9, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 10: KernelRegisters<TOps, TV, R10, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 11: KernelRegisters<TOps, TV, R11, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            case 12: KernelRegisters<TOps, TV, R12, TVectors, TWindow>(a, rs, cs, taps, tapCount, b, ldb, kc, c, ldc, accumulate, bias, epilogue, low, high, stream); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows), $"No {rows}x{TOps.Count * TVectors.Value} micro-kernel.");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel16<TRows>(float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation) where TRows : struct, ICount
    {
        int rows = TRows.Value; // a JIT-time constant: unused rows vanish from each instantiation
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint r1 = rs, r2 = rs * 2, r3 = rs * 3, r4 = rs * 4, r5 = rs * 5;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var av = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            if (rows > 1)
            {
                av = Vector256.Create(a[r1]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
            }
            if (rows > 2)
            {
                av = Vector256.Create(a[r2]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
            }
            if (rows > 3)
            {
                av = Vector256.Create(a[r3]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
            }
            if (rows > 4)
            {
                av = Vector256.Create(a[r4]);
                c40 = Fma.MultiplyAdd(av, b0, c40);
                c41 = Fma.MultiplyAdd(av, b1, c41);
            }
            if (rows > 5)
            {
                av = Vector256.Create(a[r5]);
                c50 = Fma.MultiplyAdd(av, b0, c50);
                c51 = Fma.MultiplyAdd(av, b1, c51);
            }
            a += cs;
            b += ldb;
        }

        var (epilogue, lo, hi) = Epilogue(activation);
        Put(c, c00, accumulate, bias, epilogue, lo, hi);
        Put(c + 8, c01, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
        if (rows > 1)
        {
            Put(c + ldc, c10, accumulate, bias, epilogue, lo, hi);
            Put(c + ldc + 8, c11, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
        }
        if (rows > 2)
        {
            Put(c + 2 * ldc, c20, accumulate, bias, epilogue, lo, hi);
            Put(c + 2 * ldc + 8, c21, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
        }
        if (rows > 3)
        {
            Put(c + 3 * ldc, c30, accumulate, bias, epilogue, lo, hi);
            Put(c + 3 * ldc + 8, c31, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
        }
        if (rows > 4)
        {
            Put(c + 4 * ldc, c40, accumulate, bias, epilogue, lo, hi);
            Put(c + 4 * ldc + 8, c41, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
        }
        if (rows > 5)
        {
            Put(c + 5 * ldc, c50, accumulate, bias, epilogue, lo, hi);
            Put(c + 5 * ldc + 8, c51, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel24<TRows>(float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation) where TRows : struct, ICount
    {
        int rows = TRows.Value;
        Vector256<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        nint r1 = rs, r2 = rs * 2, r3 = rs * 3;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var b2 = Avx.LoadVector256(b + 16);
            var av = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            c02 = Fma.MultiplyAdd(av, b2, c02);
            if (rows > 1)
            {
                av = Vector256.Create(a[r1]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                c12 = Fma.MultiplyAdd(av, b2, c12);
            }
            if (rows > 2)
            {
                av = Vector256.Create(a[r2]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
                c22 = Fma.MultiplyAdd(av, b2, c22);
            }
            if (rows > 3)
            {
                av = Vector256.Create(a[r3]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
                c32 = Fma.MultiplyAdd(av, b2, c32);
            }
            a += cs;
            b += ldb;
        }

        var (epilogue, lo, hi) = Epilogue(activation);
        for (int r = 0; r < rows; r++)
        {
            // Row r's accumulators, picked by constant-foldable branches.
            var (v0, v1, v2) = r switch
            {
                0 => (c00, c01, c02),
                1 => (c10, c11, c12),
                2 => (c20, c21, c22),
                _ => (c30, c31, c32),
            };
            float* row = c + r * ldc;
            Put(row, v0, accumulate, bias, epilogue, lo, hi);
            Put(row + 8, v1, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
            Put(row + 16, v2, accumulate, bias == null ? null : bias + 16, epilogue, lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel32<TRows>(float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation) where TRows : struct, ICount
    {
        int rows = TRows.Value;
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var b2 = Avx.LoadVector256(b + 16);
            var b3 = Avx.LoadVector256(b + 24);
            var av = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            c02 = Fma.MultiplyAdd(av, b2, c02);
            c03 = Fma.MultiplyAdd(av, b3, c03);
            if (rows > 1)
            {
                av = Vector256.Create(a[rs]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                c12 = Fma.MultiplyAdd(av, b2, c12);
                c13 = Fma.MultiplyAdd(av, b3, c13);
            }
            a += cs;
            b += ldb;
        }

        var (epilogue, lo, hi) = Epilogue(activation);
        Put(c, c00, accumulate, bias, epilogue, lo, hi);
        Put(c + 8, c01, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
        Put(c + 16, c02, accumulate, bias == null ? null : bias + 16, epilogue, lo, hi);
        Put(c + 24, c03, accumulate, bias == null ? null : bias + 24, epilogue, lo, hi);
        if (rows > 1)
        {
            Put(c + ldc, c10, accumulate, bias, epilogue, lo, hi);
            Put(c + ldc + 8, c11, accumulate, bias == null ? null : bias + 8, epilogue, lo, hi);
            Put(c + ldc + 16, c12, accumulate, bias == null ? null : bias + 16, epilogue, lo, hi);
            Put(c + ldc + 24, c13, accumulate, bias == null ? null : bias + 24, epilogue, lo, hi);
        }
    }

    /// <summary>
    /// Up to 12 rows × two vectors or one: 32 (or 16) columns in 512-bit registers (24 accumulators of the 32 zmm
    /// registers), or 8 in 256-bit ones (12 of the 16 ymm: narrow convolution groups of 8 outputs, which wider panels
    /// would pad). Bias and a clamp or HardSwish are applied in registers before the single store: small-K convolutions are
    /// bound by their stores. One 512-bit vector per row (16 columns) serves layers of 16 or 48 outputs, where 32-wide
    /// panels would compute padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelRegisters<TOps, TV, TRows, TVectors, TWindow>(float* a, nint rs, nint cs, nint* taps, int tapCount, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, RegisterEpilogue epilogue, float low, float high, bool stream)
        where TOps : struct, IFloatVector<TV> where TV : struct where TRows : struct, ICount where TVectors : struct, ICount where TWindow : struct
    {
        int rows = TRows.Value;
        bool two = TVectors.Value == 2; // a JIT-time constant: the second column vector vanishes from one-vector kernels
        TV c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        TV c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        TV c80 = default, c81 = default, c90 = default, c91 = default, c100 = default, c101 = default, c110 = default, c111 = default;
        // One pass over K, or (windows) one per tap: a JIT-time constant 1 where A is contiguous.
        int passes = typeof(TWindow) == typeof(Windows) ? tapCount : 1;
        for (int t = 0; t < passes; t++)
        {
            float* at = typeof(TWindow) == typeof(Windows) ? a + taps[t] : a;
            for (int p = 0; p < kc; p++)
            {
                var b0 = TOps.Load(b);
                var b1 = two ? TOps.Load(b + TOps.Count) : default;
                var a0 = TOps.Create(at[0]);
                c00 = TOps.MultiplyAdd(a0, b0, c00);
                if (two) c01 = TOps.MultiplyAdd(a0, b1, c01);
                if (rows > 1)
                {
                    var a1 = TOps.Create(at[rs]);
                    c10 = TOps.MultiplyAdd(a1, b0, c10);
                    if (two) c11 = TOps.MultiplyAdd(a1, b1, c11);
                }
                if (rows > 2)
                {
                    var a2 = TOps.Create(at[2 * rs]);
                    c20 = TOps.MultiplyAdd(a2, b0, c20);
                    if (two) c21 = TOps.MultiplyAdd(a2, b1, c21);
                }
                if (rows > 3)
                {
                    var a3 = TOps.Create(at[3 * rs]);
                    c30 = TOps.MultiplyAdd(a3, b0, c30);
                    if (two) c31 = TOps.MultiplyAdd(a3, b1, c31);
                }
                if (rows > 4)
                {
                    var a4 = TOps.Create(at[4 * rs]);
                    c40 = TOps.MultiplyAdd(a4, b0, c40);
                    if (two) c41 = TOps.MultiplyAdd(a4, b1, c41);
                }
                if (rows > 5)
                {
                    var a5 = TOps.Create(at[5 * rs]);
                    c50 = TOps.MultiplyAdd(a5, b0, c50);
                    if (two) c51 = TOps.MultiplyAdd(a5, b1, c51);
                }
                if (rows > 6)
                {
                    var a6 = TOps.Create(at[6 * rs]);
                    c60 = TOps.MultiplyAdd(a6, b0, c60);
                    if (two) c61 = TOps.MultiplyAdd(a6, b1, c61);
                }
                if (rows > 7)
                {
                    var a7 = TOps.Create(at[7 * rs]);
                    c70 = TOps.MultiplyAdd(a7, b0, c70);
                    if (two) c71 = TOps.MultiplyAdd(a7, b1, c71);
                }
                if (rows > 8)
                {
                    var a8 = TOps.Create(at[8 * rs]);
                    c80 = TOps.MultiplyAdd(a8, b0, c80);
                    if (two) c81 = TOps.MultiplyAdd(a8, b1, c81);
                }
                if (rows > 9)
                {
                    var a9 = TOps.Create(at[9 * rs]);
                    c90 = TOps.MultiplyAdd(a9, b0, c90);
                    if (two) c91 = TOps.MultiplyAdd(a9, b1, c91);
                }
                if (rows > 10)
                {
                    var a10 = TOps.Create(at[10 * rs]);
                    c100 = TOps.MultiplyAdd(a10, b0, c100);
                    if (two) c101 = TOps.MultiplyAdd(a10, b1, c101);
                }
                if (rows > 11)
                {
                    var a11 = TOps.Create(at[11 * rs]);
                    c110 = TOps.MultiplyAdd(a11, b0, c110);
                    if (two) c111 = TOps.MultiplyAdd(a11, b1, c111);
                }
                at += cs;
                b += ldb;
            }
        }

        var lo = TOps.Create(low);
        var hi = TOps.Create(high);
        float* bias16 = bias == null ? null : bias + TOps.Count;
        Put<TOps, TV>(c, c00, accumulate, bias, epilogue, lo, hi, stream);
        if (two) Put<TOps, TV>(c + TOps.Count, c01, accumulate, bias16, epilogue, lo, hi, stream);
        if (rows > 1)
        {
            Put<TOps, TV>(c + ldc, c10, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + ldc + TOps.Count, c11, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 2)
        {
            Put<TOps, TV>(c + 2 * ldc, c20, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 2 * ldc + TOps.Count, c21, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 3)
        {
            Put<TOps, TV>(c + 3 * ldc, c30, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 3 * ldc + TOps.Count, c31, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 4)
        {
            Put<TOps, TV>(c + 4 * ldc, c40, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 4 * ldc + TOps.Count, c41, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 5)
        {
            Put<TOps, TV>(c + 5 * ldc, c50, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 5 * ldc + TOps.Count, c51, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 6)
        {
            Put<TOps, TV>(c + 6 * ldc, c60, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 6 * ldc + TOps.Count, c61, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 7)
        {
            Put<TOps, TV>(c + 7 * ldc, c70, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 7 * ldc + TOps.Count, c71, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 8)
        {
            Put<TOps, TV>(c + 8 * ldc, c80, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 8 * ldc + TOps.Count, c81, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 9)
        {
            Put<TOps, TV>(c + 9 * ldc, c90, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 9 * ldc + TOps.Count, c91, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 10)
        {
            Put<TOps, TV>(c + 10 * ldc, c100, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 10 * ldc + TOps.Count, c101, accumulate, bias16, epilogue, lo, hi, stream);
        }
        if (rows > 11)
        {
            Put<TOps, TV>(c + 11 * ldc, c110, accumulate, bias, epilogue, lo, hi, stream);
            if (two) Put<TOps, TV>(c + 11 * ldc + TOps.Count, c111, accumulate, bias16, epilogue, lo, hi, stream);
        }
    }

    /// <summary>
    /// Stores a finished vector of C, <paramref name="stream"/>ing a 512-bit one past the caches (a whole line) where it
    /// starts one: the caller fences once its tiles are done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<TOps, TV>(float* c, TV value, bool accumulate, float* bias, RegisterEpilogue epilogue, TV low, TV high, bool stream)
        where TOps : struct, IFloatVector<TV> where TV : struct
    {
        if (accumulate)
            value = TOps.Add(value, TOps.Load(c));
        if (bias != null)
            value = TOps.Add(value, TOps.Load(bias));
        // Max first, NaN kept, as VectorMath's clamp; HardSwish as ActivationKernels computes it, so the bits match.
        if (epilogue == RegisterEpilogue.Clamp)
            value = TOps.Min(high, TOps.Max(low, value));
        else if (epilogue == RegisterEpilogue.HardSwish)
            value = TOps.Multiply(value, TOps.Min(high, TOps.Max(low, TOps.MultiplyAdd(value, TOps.Create(1f / 6f), TOps.Create(0.5f)))));
        if (typeof(TV) == typeof(Vector512<float>) && stream && ((nint)c & 63) == 0) Avx512F.StoreAlignedNonTemporal(c, Unsafe.As<TV, Vector512<float>>(ref value));
        else TOps.Store(value, c);
    }

    /// <summary>Stores one vector of a finished tile: the accumulated sum, plus the bias (at the last K block), clamped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* c, Vector256<float> value, bool accumulate, float* bias, RegisterEpilogue epilogue, Vector256<float> lo, Vector256<float> hi) =>
        Put<Float256, Vector256<float>>(c, value, accumulate, bias, epilogue, lo, hi, stream: false);

    /// <summary>The activation over a stored tile, where the kernels did not apply it in registers (<see cref="EpilogueOf"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ActivateStored(in Activation activation, float* c, nint ldc, int rows, int columns)
    {
        if (activation.Kind != ActivationKind.Identity && EpilogueOf(activation).Form == RegisterEpilogue.None)
            ActivationKernels.ApplyRows(activation, c, ldc, rows, columns);
    }

    /// <summary>
    /// What the kernels apply in registers before the store, and its bounds: a clamp (Relu, Clip) or HardSwish (its
    /// clamp to [0, 1]); other activations run over the stored tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (RegisterEpilogue Form, float Low, float High) EpilogueOf(in Activation activation) => activation.Kind switch
    {
        ActivationKind.Relu => (RegisterEpilogue.Clamp, 0f, float.PositiveInfinity),
        ActivationKind.Clip => (RegisterEpilogue.Clamp, activation.Alpha, activation.Beta),
        ActivationKind.HardSwish => (RegisterEpilogue.HardSwish, 0f, 1f),
        _ => (RegisterEpilogue.None, 0f, 0f),
    };

    /// <summary>
    /// <see cref="EpilogueOf"/> for the 256-bit kernels' stores. Made after the K loop: bounds live through it would
    /// push accumulators out of the 16 registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (RegisterEpilogue Form, Vector256<float> Low, Vector256<float> High) Epilogue(in Activation activation)
    {
        var (form, low, high) = EpilogueOf(activation);
        return (form, Vector256.Create(low), Vector256.Create(high));
    }

    private enum RegisterEpilogue : byte { None, Clamp, HardSwish }

    /// <summary>
    /// Portable path for CPUs without AVX2/FMA (ARM64's NEON, SSE alone); same contract, any rows ≤ nr tile (nr a
    /// multiple of 4, as every tactic's is). Four rows by four columns at a time in 128-bit vectors, each sum in k order
    /// with its products rounded before they are added, as scalar code computes it: the same bits as one sum at a time,
    /// and SqueezeNet's 1×1 convolutions 3 → 20–22 GFLOP/s with AVX turned off.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Portable(int nr, int rows, float* a, nint rs, nint cs, float* b, nint ldb, int kc,
        float* c, nint ldc, bool accumulate, float* bias, in Activation activation)
    {
        float* sums = stackalloc float[16];
        for (int r0 = 0; r0 < rows; r0 += 4)
        {
            int count = Math.Min(4, rows - r0);
            float* a0 = a + r0 * rs, a1 = a0 + (count > 1 ? rs : 0), a2 = a0 + (count > 2 ? 2 * rs : 0), a3 = a0 + (count > 3 ? 3 * rs : 0);
            for (int j0 = 0; j0 < nr; j0 += 4)
            {
                Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int p = 0; p < kc; p++)
                {
                    var bp = Vector128.Load(b + p * ldb + j0);
                    nint at = p * cs;
                    // Rows past the tile read row 0 again (never written back): no branch in the loop.
                    s0 += Vector128.Create(a0[at]) * bp;
                    s1 += Vector128.Create(a1[at]) * bp;
                    s2 += Vector128.Create(a2[at]) * bp;
                    s3 += Vector128.Create(a3[at]) * bp;
                }
                s0.Store(sums);
                s1.Store(sums + 4);
                s2.Store(sums + 8);
                s3.Store(sums + 12);
                for (int r = 0; r < count; r++)
                {
                    float* row = c + (r0 + r) * ldc + j0;
                    for (int j = 0; j < 4; j++)
                    {
                        float sum = sums[r * 4 + j];
                        if (accumulate)
                            sum += row[j];
                        if (bias != null)
                            sum += bias[j0 + j];
                        row[j] = ScalarMath.Apply(activation, sum);
                    }
                }
            }
        }
    }

    // A's layouts: rows and columns strided, or windows of an image read tap by tap (see TileWindows).
    private struct Contiguous;

    private struct Windows;

    private interface ICount
    {
        static abstract int Value { get; }
    }

    private struct R1 : ICount { public static int Value => 1; }

    private struct R2 : ICount { public static int Value => 2; }

    private struct R3 : ICount { public static int Value => 3; }

    private struct R4 : ICount { public static int Value => 4; }

    private struct R5 : ICount { public static int Value => 5; }

    private struct R6 : ICount { public static int Value => 6; }

    private struct R7 : ICount { public static int Value => 7; }

    private struct R8 : ICount { public static int Value => 8; }

    private struct R9 : ICount { public static int Value => 9; }

    private struct R10 : ICount { public static int Value => 10; }

    private struct R11 : ICount { public static int Value => 11; }

    private struct R12 : ICount { public static int Value => 12; }
}
