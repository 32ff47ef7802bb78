using System.Runtime.CompilerServices;
namespace TrtEngine.Native.Kernels;

/// <summary>GEMM tactics and packing of the constant B operand.</summary>
public static unsafe class GemmKernels
{
    private static readonly GemmTactic[] All =
    [
        new(0, "packed_mr4_nr16", Mr: 4, Nr: 16, Kc: 0, Mc: 96),
        new(1, "packed_mr6_nr16", Mr: 6, Nr: 16, Kc: 0, Mc: 96),
        new(2, "packed_mr4_nr24", Mr: 4, Nr: 24, Kc: 0, Mc: 96),
        new(3, "packed_mr2_nr32", Mr: 2, Nr: 32, Kc: 0, Mc: 96),
        new(4, "packed_mr6_nr16_kc256", Mr: 6, Nr: 16, Kc: 256, Mc: 96),
        new(5, "packed_mr4_nr24_kc256", Mr: 4, Nr: 24, Kc: 256, Mc: 96),
        new(6, "avx512_mr8_nr32", Mr: 8, Nr: 32, Kc: 0, Mc: 96, Wide: true),
        new(7, "avx512_mr12_nr32", Mr: 12, Nr: 32, Kc: 0, Mc: 96, Wide: true),
        new(8, "avx512_mr12_nr32_kc256", Mr: 12, Nr: 32, Kc: 256, Mc: 96, Wide: true),
        new(9, "avx512_mr12_nr16", Mr: 12, Nr: 16, Kc: 0, Mc: 96, Wide: true),
        // Timed only for convolution groups of 8 (or 40, 56, …) outputs, which no wider panel divides (see TacticSelector).
        new(10, "packed_mr12_nr8", Mr: 12, Nr: 8, Kc: 0, Mc: 96),
    ];

    /// <summary>Candidate tactics; <c>Tactics[i].Id == i</c> and names are stable across versions.</summary>
    public static IReadOnlyList<GemmTactic> Tactics => All;

    /// <summary>The tactic to use without timing.</summary>
    public static GemmTactic Heuristic(int m, int n, int k)
    {
        // From the perf test on AVX2: m ≤ 2 is bandwidth-bound and likes the widest rows; small m with enough
        // columns likes 4×24; otherwise 6×16, K-blocked once a panel no longer fits L1. Eight columns or fewer take
        // 8-wide panels, which a 16-wide one would half pad (MnasNet's 16 → 8 at 112×112: 94 → 43 µs). Where 512-bit
        // kernels run, they win from m = 3 (one thread, B packed, k and n of 64 to 1,024: 4–6× faster than 4×24 at m of
        // 4 to 8, 1.3–1.7× at 3; an LSTM's step over a batch of 8 is such a GEMM; n of 8 or 16: 12×16 against 6×16 even
        // at m 3 and 4, 1.9× faster at 8).
        if (n <= 8 && m > 8)
            return All[10];
        if (GemmMicroKernels.WideSupported && m > 2)
            return n <= 16 ? All[9] : k > 512 ? All[8] : All[7];
        if (n <= 16)
            return All[1];
        if (m <= 2)
            return All[3];
        if (m <= 8)
            return All[2];
        return k > 512 ? All[4] : All[1];
    }

    /// <summary>Floats written by <see cref="PackB"/>: whole Nr-wide panels, the last one zero-padded.</summary>
    public static int PackedLength(int k, int n, GemmTactic tactic) =>
        checked(PanelCount(n, tactic) * tactic.Nr * k);

    internal static int PanelCount(int n, GemmTactic tactic) => (n + tactic.Nr - 1) / tactic.Nr;

    /// <summary>
    /// Packs B ([k, n] row-major, or [n, k] when <paramref name="transB"/>) times <paramref name="scale"/> into
    /// panels: panel p holds columns [p·Nr, p·Nr + Nr) as k rows of Nr floats. Returns the sum of the values packed
    /// (see <see cref="PackingKernels"/>).
    /// </summary>
    public static float PackB(float* b, int k, int n, bool transB, float scale, GemmTactic tactic, float* packed) =>
        PackB(b, k, n, transB, scale, tactic, packed, 0, PanelCount(n, tactic));

    /// <summary>
    /// Panels [<paramref name="firstPanel"/>, <paramref name="endPanel"/>) of <see cref="PackB(float*, int, int, bool, float, GemmTactic, float*)"/>:
    /// a refit packs parts of a large weight on several threads, <paramref name="stream"/> when its output is large
    /// (<see cref="PackingKernels.Panels"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float PackB(float* b, int k, int n, bool transB, float scale, GemmTactic tactic, float* packed, int firstPanel, int endPanel, bool stream = false) =>
        PackingKernels.Panels(b, n, k, transB, 1, scale, null, tactic.Nr, packed, firstPanel, endPanel, stream);
}
