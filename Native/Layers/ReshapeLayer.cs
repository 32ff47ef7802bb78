using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>Reshape, Flatten and Identity: the output is a view of the input, so nothing runs.</summary>
public sealed class ReshapeLayer : Layer
{
    public ReshapeLayer(string name, ReshapeMode mode, ValueRef x, long[]? shape = null, bool allowZero = false, int axis = 1)
        : base(name, [x])
    {
        Mode = mode;
        TargetShape = shape ?? [];
        AllowZero = allowZero;
        Axis = axis;
    }

    public override LayerKind Kind => LayerKind.Reshape;
    public ReshapeMode Mode { get; }
    public long[] TargetShape { get; }
    public bool AllowZero { get; }
    public int Axis { get; }
    public override bool IsAlias => true;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => Mode switch
    {
        ReshapeMode.Reshape => ShapeInference.Reshape(inputShapes[0], TargetShape, AllowZero),
        ReshapeMode.Flatten => ShapeInference.Flatten(inputShapes[0], Axis),
        _ => (int[])inputShapes[0].Clone(),
    };

    internal override void Execute(ExecutionFrame frame, object? state) { }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)Mode);
        writer.Write(TargetShape);
        writer.Write(AllowZero);
        writer.Write(Axis);
    }

    internal static ReshapeLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, reader.ReadEnum<ReshapeMode>(), inputs[0], reader.ReadInt64Array(), reader.ReadBool(), reader.ReadInt(-64, 64));
}
