namespace TrtEngine.Native.Kernels;

/// <summary>Element-wise unary functions that the kernels apply standalone or fused into an epilogue.</summary>
public enum ActivationKind : byte
{
    Identity,
    Relu,
    Sigmoid,
    Tanh,
    Erf,
    Gelu,
    Clip,
    LeakyRelu,
    HardSigmoid,
    HardSwish,
    Exp,
    Neg,
    Abs,
    Sqrt,
    Reciprocal,

    /// <summary>x · sigmoid(x) (SiLU, "swish"), fused from the Sigmoid and Mul that exporters write.</summary>
    Silu,
}
