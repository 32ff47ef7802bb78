namespace TrtEngine.Native.Layers;

/// <summary>What an <see cref="AxisLayer"/> computes along its axis; the numbers are part of the plan format.</summary>
public enum AxisOperation : byte
{
    ArgMax = 0,
    ArgMin = 1,
    CumSum = 2,
    TopKLargest = 3,
    TopKSmallest = 4,
}
