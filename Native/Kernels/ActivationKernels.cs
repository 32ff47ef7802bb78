using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>Element-wise activations over contiguous float buffers.</summary>
public static unsafe class ActivationKernels
{
    /// <summary>y[i] = f(x[i]) for i in [0, length); x may equal y.</summary>
    public static void Apply(in Activation activation, float* x, float* y, nint length)
    {
        if (activation.Kind == ActivationKind.Identity)
        {
            if (x != y)
                Buffer.MemoryCopy(x, y, length * sizeof(float), length * sizeof(float));
            return;
        }

        nint i = 0;
        if (VectorMath.IsSupported)
        {
            for (; i <= length - 8; i += 8)
                Avx.Store(y + i, Apply(activation, Avx.LoadVector256(x + i)));
            if (i < length)
            {
                // The tail goes through the same vector code so every element gets identical rounding.
                float* tail = stackalloc float[8];
                Avx.Store(tail, Vector256<float>.Zero);
                nint rest = length - i;
                Buffer.MemoryCopy(x + i, tail, 8 * sizeof(float), rest * sizeof(float));
                Avx.Store(tail, Apply(activation, Avx.LoadVector256(tail)));
                Buffer.MemoryCopy(tail, y + i, rest * sizeof(float), rest * sizeof(float));
            }
            return;
        }

        for (; i < length; i++)
            y[i] = ScalarMath.Apply(activation, x[i]);
    }

    /// <summary>The activation on one vector (AVX2/FMA required); used by fused kernel epilogues.</summary>
    internal static Vector256<float> Apply(in Activation activation, Vector256<float> x)
    {
        var zero = Vector256<float>.Zero;
        var one = Vector256.Create(1f);
        switch (activation.Kind)
        {
            case ActivationKind.Identity:
                return x;
            case ActivationKind.Relu:
                return VectorMath.Max(zero, x);
            case ActivationKind.Sigmoid:
                return VectorMath.Sigmoid(x);
            case ActivationKind.Tanh:
                return VectorMath.Tanh(x);
            case ActivationKind.Erf:
                return VectorMath.Erf(x);
            case ActivationKind.Gelu:
                return VectorMath.Gelu(x);
            case ActivationKind.Clip:
                return VectorMath.Min(Vector256.Create(activation.Beta), VectorMath.Max(Vector256.Create(activation.Alpha), x));
            case ActivationKind.LeakyRelu:
                var scaled = Avx.Multiply(x, Vector256.Create(activation.Alpha));
                return Avx.BlendVariable(x, scaled, Avx.CompareLessThan(x, zero));
            case ActivationKind.HardSigmoid:
                var h = Fma.MultiplyAdd(x, Vector256.Create(activation.Alpha), Vector256.Create(activation.Beta));
                return VectorMath.Min(one, VectorMath.Max(zero, h));
            case ActivationKind.HardSwish:
                var gate = Fma.MultiplyAdd(x, Vector256.Create(1f / 6f), Vector256.Create(0.5f));
                return Avx.Multiply(x, VectorMath.Min(one, VectorMath.Max(zero, gate)));
            case ActivationKind.Exp:
                return VectorMath.Exp(x);
            case ActivationKind.Neg:
                return Avx.Xor(x, Vector256.Create(-0f));
            case ActivationKind.Abs:
                return VectorMath.Abs(x);
            case ActivationKind.Sqrt:
                return Avx.Sqrt(x);
            case ActivationKind.Reciprocal:
                return Avx.Divide(one, x);
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation.Kind, "Unknown activation.");
        }
    }
}
