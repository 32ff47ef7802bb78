using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

// TEMP: replaced by the kernels branch.
public sealed unsafe class GemmJob : IParallelTask
{
    public void Run(GemmTactic tactic, float* a, int m, int k, bool transA, float* packedB, int n, float* bias, in Activation activation, float* y, WorkerPool pool)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = bias == null ? 0 : bias[j];
                for (int p = 0; p < k; p++) s += (transA ? a[p * m + i] : a[i * k + p]) * (double)packedB[p * n + j];
                y[i * n + j] = (float)s;
            }
        ActivationKernels.Apply(activation, y, y, (nint)m * n);
    }

    public void RunMatMul(GemmTactic tactic, float* a, ReadOnlySpan<int> aShape, float* b, ReadOnlySpan<int> bShape, float* y, ReadOnlySpan<int> yShape, float* workspace, WorkerPool pool)
    {
        int r = yShape.Length, m = yShape[r - 2], n = yShape[r - 1], k = aShape[^1];
        long batches = 1;
        for (int d = 0; d < r - 2; d++) batches *= yShape[d];
        Span<int> idx = stackalloc int[r];
        for (long bt = 0; bt < batches; bt++)
        {
            long rem = bt;
            for (int d = r - 3; d >= 0; d--) { idx[d] = (int)(rem % yShape[d]); rem /= yShape[d]; }
            float* pa = a + BatchOffset(idx, aShape, r) * m * k, pb = b + BatchOffset(idx, bShape, r) * k * n, py = y + bt * m * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += pa[i * k + p] * (double)pb[p * n + j];
                    py[i * n + j] = (float)s;
                }
        }
    }

    private static long BatchOffset(ReadOnlySpan<int> idx, ReadOnlySpan<int> shape, int rank)
    {
        long o = 0;
        int shift = rank - shape.Length;
        for (int d = 0; d < shape.Length - 2; d++) o = o * shape[d] + (shape[d] == 1 ? 0 : idx[d + shift]);
        return o;
    }

    public static int MatMulWorkspaceLength(int k, int n, GemmTactic tactic, int threads) => 0;

    void IParallelTask.Execute(int index) { }
}
