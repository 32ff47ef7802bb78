namespace TrtEngine.Core.Engines;

/// <summary>One layer of a built engine, as the inspector shows it: what it is, what it was fused from, how it runs.</summary>
public sealed class TrtLayerInfo
{
    public required int Index { get; init; }
    public required string Name { get; init; }

    /// <summary>The layer type, with the algorithm or fused activation where that matters (e.g. "Conv (depthwise) + Clip").</summary>
    public required string Type { get; init; }

    /// <summary>The model's nodes this layer computes (more than one after fusion).</summary>
    public required string[] Origins { get; init; }

    /// <summary>How a convolution is computed ("nhwc winograd f(4x4,3x3)", "nhwc im2col gemm", …); null for other layers.</summary>
    public required string? Algorithm { get; init; }

    /// <summary>The GEMM tactic the builder chose (timed at the opt shape unless the optimization level is 0).</summary>
    public required string? Tactic { get; init; }
    public required double TacticMicroseconds { get; init; }
    public required string[] Inputs { get; init; }
    public required string Output { get; init; }
    public required int[] OutputShape { get; init; }

    public override string ToString() => $"{Name} ({Type})";
}
