using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// One operation of a network or of a built engine. In a network its weight operands name model weights;
/// in an engine plan they name engine weights (packed, derived by recipes). Execution needs the engine form.
/// </summary>
public abstract class Layer
{
    protected Layer(string name, ValueRef[] inputs)
    {
        Name = name;
        Inputs = inputs;
    }

    public abstract LayerKind Kind { get; }

    public string Name { get; }

    /// <summary>The names of the network layers this layer was built from (more than one after fusion).</summary>
    public string[] Origins { get; internal set; } = [];

    public ValueRef[] Inputs { get; internal set; }

    public int Output { get; internal set; } = -1;

    /// <summary>The tactic the builder chose for this layer and its measured time, when it had candidates.</summary>
    public string? Tactic { get; internal set; }

    public double TacticMicroseconds { get; internal set; }

    /// <summary>True when the output is a view of the first input's memory (no data moves).</summary>
    public virtual bool IsAlias => false;

    public abstract int[] InferShape(IReadOnlyList<int[]> inputShapes);

    /// <summary>Per-execution-context state (kernel job objects), created once so calls allocate nothing.</summary>
    internal virtual object? CreateState(ExecutionFrame frame) => null;

    /// <summary>Scratch floats this layer needs at the frame's current shapes.</summary>
    internal virtual long WorkspaceLength(ExecutionFrame frame) => 0;

    internal abstract unsafe void Execute(ExecutionFrame frame, object? state);

    internal abstract void WriteParameters(PlanWriter writer);

    public Layer Clone()
    {
        var copy = (Layer)MemberwiseClone();
        copy.Inputs = (ValueRef[])Inputs.Clone();
        copy.Origins = (string[])Origins.Clone();
        return copy;
    }

    public override string ToString() => $"{Kind} '{Name}'";
}
