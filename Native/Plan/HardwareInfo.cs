using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Plan;

/// <summary>The facts a tactic timing depends on: the instruction set the kernels use and the thread count.</summary>
public sealed record HardwareInfo(string InstructionSet, int Threads)
{
    public static string CurrentInstructionSet { get; } =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? "avx512f" :
        Fma.IsSupported && Avx2.IsSupported ? "avx2-fma" :
        Vector128.IsHardwareAccelerated ? "sse/neon" : "scalar";

    public static HardwareInfo Current(int threads) => new(CurrentInstructionSet, threads);

    public override string ToString() => $"{InstructionSet}, {Threads} threads";
}
