namespace TrtEngine.Native.Layers;

/// <summary>Layer type tags; their numbers are part of the plan format.</summary>
public enum LayerKind : byte
{
    Gemm = 1,
    MatMul = 2,
    Elementwise = 3,
    Activation = 4,
    Softmax = 5,
    Reshape = 6,
    Conv = 7,
    BatchNorm = 8,
    Pool = 9,
    Concat = 10,
    Slice = 11,
    Transpose = 12,
    Pad = 13,
    Resize = 14,
    Reduce = 15,
    ConvTranspose = 16,
    Reformat = 17,
    ChannelShuffle = 18,
    FusedInvertedResidual = 19,
    FusedConvPool = 20,
    LayerNorm = 21,
    Select = 22,
    Gather = 23,
    Axis = 24,
    GatherElements = 25,
    Recurrent = 26,
}
