namespace TrtEngine.Native.Kernels;

public readonly record struct Window2D(int Batch, int Channels, int InH, int InW, int OutH, int OutW,
    int KernelH, int KernelW, int StrideH, int StrideW, int PadTop, int PadLeft, int DilationH, int DilationW);
