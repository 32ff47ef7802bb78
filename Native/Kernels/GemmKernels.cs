namespace TrtEngine.Native.Kernels;

// TEMP: replaced by the kernels branch.
public static unsafe class GemmKernels
{
    public static IReadOnlyList<GemmTactic> Tactics { get; } = [new(0, "naive_a", 1, 1), new(1, "naive_b", 1, 1)];
    public static GemmTactic Heuristic(int m, int n, int k) => Tactics[0];
    public static int PackedLength(int k, int n, GemmTactic tactic) => k * n;
    public static void PackB(float* b, int k, int n, bool transB, float scale, GemmTactic tactic, float* packed)
    {
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++)
                packed[i * n + j] = scale * (transB ? b[j * k + i] : b[i * n + j]);
    }
}
