using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>A unary elementwise function (Relu, Sigmoid, Tanh, Erf, …).</summary>
public sealed class ActivationLayer(string name, Activation activation, ValueRef x) : Layer(name, [x])
{
    public override LayerKind Kind => LayerKind.Activation;
    public Activation Activation { get; } = activation;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => (int[])inputShapes[0].Clone();

    internal override unsafe void Execute(ExecutionFrame frame, object? state) =>
        ActivationKernels.Apply(Activation, frame.Pointer(Inputs[0]), frame.Pointer(Output), (nint)Shapes.ElementCount(frame.Shape(Output)));

    internal override void WriteParameters(PlanWriter writer) => writer.Write(Activation);

    internal static ActivationLayer Read(string name, ValueRef[] inputs, PlanReader reader) => new(name, reader.ReadActivation(), inputs[0]);
}
