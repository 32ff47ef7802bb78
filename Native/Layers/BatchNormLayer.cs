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

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (x.Length < 2) throw new ShapeException($"BatchNormalization '{Name}': input {Shapes.Format(x)} has no channel dimension.");
        for (int i = 1; i < 5; i++)
            if (Shapes.ElementCount(inputShapes[i]) is long n && x[1] >= 0 && n != x[1])
                throw new ShapeException($"BatchNormalization '{Name}': parameter {i} has {n} values for {x[1]} channels.");
        return (int[])x.Clone();
    }

    internal override object? CreateState(ExecutionFrame frame) => new float[2 * Shapes.ElementCount(frame.Shape(Inputs[1]))];

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] shape = frame.Shape(Output);
        int channels = shape[1];
        long plane = Shapes.ElementCount(shape.AsSpan(2)), batch = shape[0];
        float* x = frame.Pointer(Inputs[0]), y = frame.Pointer(Output);
        float* gamma = frame.Pointer(Inputs[1]), beta = frame.Pointer(Inputs[2]), mean = frame.Pointer(Inputs[3]), variance = frame.Pointer(Inputs[4]);
        var coefficients = (float[])state!;
        for (int c = 0; c < channels; c++)
        {
            double scale = gamma[c] / Math.Sqrt(variance[c] + (double)Epsilon);
            coefficients[c] = (float)scale;
            coefficients[channels + c] = (float)(beta[c] - mean[c] * scale);
        }
        for (long n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
            {
                float scale = coefficients[c], shift = coefficients[channels + c];
                long offset = (n * channels + c) * plane;
                for (long i = 0; i < plane; i++) y[offset + i] = x[offset + i] * scale + shift;
            }
    }

    internal override void WriteParameters(PlanWriter writer) => writer.Write(Epsilon);

    internal static BatchNormLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], reader.ReadSingle());
}
