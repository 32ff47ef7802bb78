using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>Reshape, Flatten, Identity and Squeeze/Unsqueeze by origins: the output is a view of the input, so nothing runs.</summary>
public sealed class ReshapeLayer : Layer
{
    public ReshapeLayer(string name, ReshapeMode mode, ValueRef x, long[]? shape = null, bool allowZero = false, int axis = 1, int[]? sources = null)
        : base(name, [x])
    {
        Mode = mode;
        TargetShape = shape ?? [];
        AllowZero = allowZero;
        Axis = axis;
        Sources = sources ?? [];
    }

    public override LayerKind Kind => LayerKind.Reshape;
    public ReshapeMode Mode { get; }
    public long[] TargetShape { get; }
    public bool AllowZero { get; }
    public int Axis { get; }

    /// <summary>For Reshape: the input dim each target dim copies from another position (−1: none), or empty.</summary>
    public int[] Sources { get; }
    public override bool IsAlias => true;

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes) => Mode switch
    {
        ReshapeMode.Reshape => ShapeInference.Reshape(inputShapes[0], TargetShape, AllowZero, Sources),
        ReshapeMode.Flatten => ShapeInference.Flatten(inputShapes[0], Axis),
        ReshapeMode.Origins => FromOrigins(inputShapes[0]),
        _ => (int[])inputShapes[0].Clone(),
    };

    /// <summary>
    /// The dims <see cref="TargetShape"/> names by their input positions (−1: a new 1); the input dims it leaves out must
    /// be 1 (squeezed). Several dynamic dims may move so, where a Reshape's 0 and −1 cannot say it.
    /// </summary>
    private int[] FromOrigins(int[] x)
    {
        if (TargetShape.Any(o => o < -1 || o >= x.Length) || TargetShape.Where(o => o >= 0).Distinct().Count() != TargetShape.Count(o => o >= 0)
            || Enumerable.Range(0, x.Length).Any(d => !TargetShape.Contains(d) && x[d] != 1))
            throw new ShapeException($"Reshape '{Name}': [{string.Join(", ", TargetShape)}] does not squeeze or unsqueeze {Shapes.Format(x)}.");
        return TargetShape.Select(o => o < 0 ? 1 : x[o]).ToArray();
    }

    internal override void Execute(ExecutionFrame frame, object? state) { }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)Mode);
        writer.Write(TargetShape);
        writer.Write(AllowZero);
        writer.Write(Axis);
        writer.Write(Sources);
    }

    internal static ReshapeLayer Read(string name, ValueRef[] inputs, PlanReader reader) =>
        new(name, reader.ReadEnum<ReshapeMode>(), inputs[0], reader.ReadInt64Array(), reader.ReadBool(), reader.ReadInt(-64, 64), reader.ReadInt32Array());
}
