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

    /// <summary>Kernel rows [I0, I1) that fall inside the input, for the window starting at input row <paramref name="top"/>.</summary>
    public (int I0, int I1) RowsInside(int top) => Inside(top, KernelH, DilationH, InH);

    /// <summary>Kernel columns [J0, J1) that fall inside the input, for the window starting at input column <paramref name="left"/>.</summary>
    public (int J0, int J1) ColumnsInside(int left) => Inside(left, KernelW, DilationW, InW);

    /// <summary>Whether the <paramref name="count"/> outputs of a row from column <paramref name="ow"/> exist and their windows lie inside the input row.</summary>
    public bool InsideRow(int ow, int count) =>
        ow + count <= OutW && ow * StrideW - PadLeft >= 0 && (ow + count - 1) * StrideW - PadLeft + (KernelW - 1) * DilationW < InW;

    private static (int First, int End) Inside(int start, int kernel, int dilation, int extent)
    {
        int first = start >= 0 ? 0 : Math.Min(kernel, (-start + dilation - 1) / dilation);
        return (first, Math.Max(first, Math.Min(kernel, (extent - start + dilation - 1) / dilation)));
    }
}
