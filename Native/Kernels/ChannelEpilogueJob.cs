using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>
/// In place over an NCHW tensor already computed (a convolution done by GEMM): y[n, c, p] = act(y[n, c, p] + bias[c]
/// + residual[n, c, p]). One instance per engine layer, reused for every call; not thread-safe.
/// </summary>
[SkipLocalsInit]
public sealed unsafe class ChannelEpilogueJob : IParallelTask, IRowTask
{
    // Planes are cut into segments of this many floats so a few large planes still split across threads.
    private const int Segment = 1024;

    private float* _y, _bias, _residual;
    private int _channels, _planeSize;
    private Activation _activation;
    private RowSchedule _schedule;

    /// <summary>bias is null or [channels]; residual is null or shaped like y.</summary>
    public void Run(float* y, int batch, int channels, int planeSize, float* bias, float* residual, in Activation activation,
        WorkerPool pool)
    {
        if (bias == null && residual == null && activation.Kind == ActivationKind.Identity)
            return;
        _y = y;
        _bias = bias;
        _residual = residual;
        _channels = channels;
        _planeSize = planeSize;
        _activation = activation;
        int planes = batch * channels;
        _schedule.Plan(planes, (planeSize + Segment - 1) / Segment, (long)planes * planeSize, pool.ThreadCount);
        pool.For(_schedule.Chunks, this);
    }

    void IParallelTask.Execute(int index) => _schedule.Run(index, this);

    void IRowTask.RunRows(int plane, int row0, int row1)
    {
        int start = row0 * Segment, length = Math.Min(_planeSize, row1 * Segment) - start;
        nint offset = (nint)plane * _planeSize + start;
        float bias = _bias == null ? 0f : _bias[plane % _channels];
        float* residual = _residual == null ? null : _residual + offset;
        Apply(_y + offset, length, bias, residual, _activation);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Apply(float* y, int length, float bias, float* residual, in Activation activation)
    {
        if (!VectorMath.IsSupported)
        {
            for (int i = 0; i < length; i++)
                y[i] = ScalarMath.Apply(activation, y[i] + bias + (residual == null ? 0f : residual[i]));
            return;
        }

        var b = Vector256.Create(bias);
        int k = 0;
        for (; k <= length - 8; k += 8)
        {
            var sum = Avx.Add(Avx.LoadVector256(y + k), b);
            if (residual != null)
                sum = Avx.Add(sum, Avx.LoadVector256(residual + k));
            Avx.Store(y + k, ActivationKernels.Apply(activation, sum));
        }
        if (k < length)
        {
            // The tail goes through the same vector code so every element gets identical rounding.
            var lanes = Lanes.First(length - k);
            var sum = Avx.Add(Avx.MaskLoad(y + k, lanes), b);
            if (residual != null)
                sum = Avx.Add(sum, Avx.MaskLoad(residual + k, lanes));
            Avx.MaskStore(y + k, lanes, ActivationKernels.Apply(activation, sum));
        }
    }
}
