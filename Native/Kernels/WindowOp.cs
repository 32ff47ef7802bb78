namespace TrtEngine.Native.Kernels;

/// <summary>What <see cref="ChannelsLastWindowJob"/> computes over each window.</summary>
public enum WindowOp
{
    Depthwise,
    Max,
    Average,
}
