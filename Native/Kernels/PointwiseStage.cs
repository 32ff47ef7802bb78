namespace TrtEngine.Native.Kernels;

/// <summary>A channels-last 1×1 convolution as its GEMM runs it: the tactic its weight was packed for, the packed weight, bias (or null) and activation.</summary>
public readonly unsafe struct PointwiseStage(GemmTactic tactic, float* weights, float* bias, Activation activation)
{
    public GemmTactic Tactic { get; } = tactic;
    public float* Weights { get; } = weights;
    public float* Bias { get; } = bias;
    public Activation Activation { get; } = activation;
}
