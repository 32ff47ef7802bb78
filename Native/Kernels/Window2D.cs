namespace TrtEngine.Native.Kernels;

/// <summary>
/// The geometry of a 2-D sliding window over an NCHW tensor (convolution or pooling). OutH/OutW come from the
/// caller (ceil_mode, auto_pad); any input position outside [0, InH)×[0, InW) is padding, including windows that run
/// past the bottom/right edge. PadBottom/PadRight only matter to AveragePool with count_include_pad, which counts pad
/// positions inside the padded extent [-PadTop, InH + PadBottom) but not those beyond it (ceil_mode overhang).
/// </summary>
public readonly record struct Window2D(int Batch, int Channels, int InH, int InW, int OutH, int OutW,
    int KernelH, int KernelW, int StrideH, int StrideW, int PadTop, int PadLeft, int DilationH, int DilationW,
    int PadBottom, int PadRight)
{
    /// <summary>
    /// The input is held as channel planes (NCHW) where a channels-last convolution reads windows of HWC pixels: a first
    /// layer reads the network's input as it is instead of after a reformat (<see cref="Im2Col.RunChannelsLast"/>).
    /// </summary>
    public bool PlanarInput { get; init; }
}
