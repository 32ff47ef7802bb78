namespace TrtEngine.Native.Layers;

/// <summary>How a reshape layer computes its output shape; numbers are part of the plan format.</summary>
public enum ReshapeMode : byte
{
    Reshape = 1,
    Flatten = 2,
    Identity = 3,
}
