namespace TrtEngine.Native.Kernels;

/// <summary>
/// One GEMM blocking choice. B is packed in column panels of <paramref name="Nr"/>; the micro-kernel computes
/// <paramref name="Mr"/>×<paramref name="Nr"/> tiles. <paramref name="Kc"/> &gt; 0 splits K into blocks of that depth
/// (panel slices stay in L1 across row tiles); 0 means one pass over K. <paramref name="Mc"/> is the row-block height
/// of one parallel work unit (a multiple of Mr). <paramref name="Wide"/> tactics run 512-bit kernels and are timed only
/// where the CPU has AVX-512.
/// </summary>
public readonly record struct GemmTactic(int Id, string Name, int Mr, int Nr, int Kc, int Mc, bool Wide = false)
{
    /// <summary>Whether this tactic's own kernel runs on this CPU (otherwise it computes the same through a portable path).</summary>
    public bool IsSupported => !Wide || GemmMicroKernels.WideSupported;

    /// <summary>Panels narrower than 16 columns: timed only for convolution groups no wider panel divides (it runs anywhere it is forced).</summary>
    public bool Narrow => Nr < 16;
}
