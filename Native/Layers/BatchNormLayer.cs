using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// BatchNormalization in inference form over dim 1: y = (x − mean)·scale/√(var + ε) + bias.
/// Inputs: [x, scale, bias, mean, variance]. After a convolution the builder folds it into the convolution's weights.
/// </summary>
public sealed class BatchNormLayer(string name, ValueRef x, ValueRef scale, ValueRef bias, ValueRef mean, ValueRef variance, float epsilon)
    : Layer(name, [x, scale, bias, mean, variance])
{
    public override LayerKind Kind => LayerKind.BatchNorm;
    public float Epsilon { get; } = epsilon;

    /// <summary>Runs on channels-last (NHWC) memory, inside a channels-last region (DenseNet's, before each convolution).</summary>
    public bool ChannelsLast { get; internal set; }

    /// <summary>The activation after it, applied to each row while it is in cache (DenseNet's Relu).</summary>
    public Activation Activation { get; internal set; }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (x.Length < 2) throw new ShapeException($"BatchNormalization '{Name}': input {Shapes.Format(x)} has no channel dimension.");
        for (int i = 1; i < 5; i++)
            if (Shapes.ElementCount(inputShapes[i]) is long n && x[1] >= 0 && n != x[1])
                throw new ShapeException($"BatchNormalization '{Name}': parameter {i} has {n} values for {x[1]} channels.");
        return (int[])x.Clone();
    }

    internal override object? CreateState(ExecutionFrame frame) => new BatchNormState(Shapes.ElementCount(frame.Shape(Inputs[1])));

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] shape = frame.Shape(Output);
        int channels = shape[1];
        float* gamma = frame.Pointer(Inputs[1]), beta = frame.Pointer(Inputs[2]), mean = frame.Pointer(Inputs[3]), variance = frame.Pointer(Inputs[4]);
        var s = (BatchNormState)state!;
        int pixels = checked((int)Shapes.ElementCount(shape.AsSpan(2)));
        fixed (float* coefficients = s.Coefficients)
        {
            Coefficients(gamma, beta, mean, variance, Epsilon, channels, coefficients);
            s.Job.Run(frame.Pointer(Inputs[0]), frame.Pointer(Output), coefficients, coefficients + channels, shape[0], channels, pixels,
                shape.Length == 4 ? shape[3] : pixels, ChannelsLast, Activation, frame.Pool);
        }
    }

    /// <summary>scale[c] = γ/√(var + ε) and shift[c] = β − mean·scale (in double), one after the other in <paramref name="coefficients"/>.</summary>
    internal static unsafe void Coefficients(float* gamma, float* beta, float* mean, float* variance, float epsilon, int channels, float* coefficients)
    {
        for (int c = 0; c < channels; c++)
        {
            double scale = gamma[c] / Math.Sqrt(variance[c] + (double)epsilon);
            coefficients[c] = (float)scale;
            coefficients[channels + c] = (float)(beta[c] - mean[c] * scale);
        }
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(Epsilon);
        writer.Write(ChannelsLast);
        writer.Write(Activation);
    }

    internal static BatchNormLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], reader.ReadSingle()) { ChannelsLast = reader.ReadBool(), Activation = reader.ReadActivation() };

    private sealed class BatchNormState(long channels)
    {
        public float[] Coefficients { get; } = new float[2 * channels];
        public ChannelAffineJob Job { get; } = new();
    }
}
