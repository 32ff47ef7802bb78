namespace TrtEngine.Native.Kernels;

public enum ActivationKind : byte { Identity, Relu, Sigmoid, Tanh, Erf, Gelu, Clip, LeakyRelu, HardSigmoid, HardSwish, Exp, Neg, Abs, Sqrt, Reciprocal }

public readonly record struct Activation(ActivationKind Kind, float Alpha = 0f, float Beta = 0f);
