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

    /// <summary>x where x ≥ 0, α·(eˣ − 1) elsewhere.</summary>
    Elu,

    /// <summary>γ·x where x &gt; 0, γ·(α·eˣ − α) elsewhere (α in Alpha, γ in Beta).</summary>
    Selu,

    /// <summary>ln(1 + eˣ).</summary>
    Softplus,

    /// <summary>x / (1 + |x|).</summary>
    Softsign,

    Log,

    /// <summary>x · tanh(ln(1 + eˣ)).</summary>
    Mish,

    Floor,

    Ceil,

    /// <summary>To the nearest integer, halves to even.</summary>
    Round,

    /// <summary>−1, 0 or 1 by x's sign (NaN stays NaN).</summary>
    Sign,

    Sin,

    Cos,
}
