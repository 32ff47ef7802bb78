namespace TrtEngine.Native.Kernels;

/// <summary>
/// An activation with its ONNX attributes, already resolved by the caller (no defaults are applied here):
/// Clip: Alpha = min, Beta = max; LeakyRelu: Alpha; HardSigmoid: max(0, min(1, Alpha·x + Beta)).
/// Gelu is the exact form x·½·(1 + erf(x/√2)); HardSwish is x·max(0, min(1, x/6 + ½)).
/// </summary>
public readonly record struct Activation(ActivationKind Kind, float Alpha = 0f, float Beta = 0f)
{
    public static Activation Identity => default;
}
