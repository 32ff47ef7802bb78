namespace TrtEngine.Native.Layers;

/// <summary>How a reshape layer computes its output shape; numbers are part of the plan format.</summary>
public enum ReshapeMode : byte
{
    Reshape = 1,
    Flatten = 2,
    Identity = 3,

    /// <summary>Squeeze and Unsqueeze: each output dim the input dim the target names, or 1 where it is −1; the input's other dims must be 1.</summary>
    Origins = 4,
}
