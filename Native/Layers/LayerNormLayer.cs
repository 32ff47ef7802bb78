using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// LayerNormalization (ONNX opset 17): each row of the dimensions from <see cref="Axis"/> on normalised to zero mean
/// and unit variance, y = (x − mean)/√(var + ε)·scale + bias, with one scale and bias value for each position of those
/// dimensions (ConvNeXt's LayerNorm, a transformer's). Inputs: [x, scale, bias or none].
/// </summary>
public sealed class LayerNormLayer(string name, ValueRef x, ValueRef scale, ValueRef bias, int axis, float epsilon) : Layer(name, [x, scale, bias])
{
    public override LayerKind Kind => LayerKind.LayerNorm;
    public int Axis { get; } = axis;
    public float Epsilon { get; } = epsilon;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        int axis = Shapes.NormalizeAxis(Axis, x.Length, "LayerNormalization", Name);
        int[] normalized = x[axis..];
        if (normalized.All(d => d >= 0))
        {
            long n = Shapes.ElementCount(normalized);
            foreach (var (input, role) in new[] { (1, "scale"), (2, "bias") })
                if (!Inputs[input].IsNone && Shapes.ElementCount(inputShapes[input]) != n)
                    throw new ShapeException($"LayerNormalization '{Name}': the {role} has shape {Shapes.Format(inputShapes[input])}, " +
                                             $"not one value for each of the {n} normalised positions ({Shapes.Format(normalized)}).");
        }
        return (int[])x.Clone();
    }

    internal override object? CreateState(ExecutionFrame frame) => new LayerNormJob();

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] shape = frame.Shape(Output);
        int axis = Axis < 0 ? Axis + shape.Length : Axis;
        int rows = checked((int)Shapes.ElementCount(shape.AsSpan(0, axis))), n = checked((int)Shapes.ElementCount(shape.AsSpan(axis)));
        ((LayerNormJob)state!).Run(frame.Pointer(Inputs[0]), frame.Pointer(Output), frame.Pointer(Inputs[1]),
            Inputs[2].IsNone ? null : frame.Pointer(Inputs[2]), rows, n, Epsilon, frame.Pool);
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write(Axis);
        writer.Write(Epsilon);
    }

    internal static LayerNormLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, inputs[0], inputs[1], inputs[2], reader.ReadInt(-64, 63), reader.ReadSingle());
}
