namespace TrtEngine.Native.Layers;

/// <summary>How Pad fills: a constant, the mirror image without the edge (reflect), or the edge repeated.</summary>
public enum PadMode : byte
{
    Constant,
    Reflect,
    Edge,
}
