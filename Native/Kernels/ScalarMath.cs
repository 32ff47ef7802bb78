namespace TrtEngine.Native.Kernels;

/// <summary>Scalar forms of the activations, used for tails and on CPUs without AVX2/FMA.</summary>
internal static class ScalarMath
{
    public static float Apply(in Activation activation, float x) => activation.Kind switch
    {
        ActivationKind.Identity => x,
        ActivationKind.Relu => float.IsNaN(x) ? x : MathF.Max(x, 0f),
        ActivationKind.Sigmoid => (float)(1.0 / (1.0 + Math.Exp(-(double)x))),
        ActivationKind.Tanh => MathF.Tanh(x),
        ActivationKind.Erf => (float)Erf(x),
        ActivationKind.Gelu => (float)Gelu(x),
        ActivationKind.Clip => float.IsNaN(x) ? x : MathF.Min(MathF.Max(x, activation.Alpha), activation.Beta),
        ActivationKind.LeakyRelu => x < 0f ? x * activation.Alpha : x,
        ActivationKind.HardSigmoid => float.IsNaN(x) ? x : MathF.Min(MathF.Max(activation.Alpha * x + activation.Beta, 0f), 1f),
        ActivationKind.HardSwish => float.IsNaN(x) ? x : x * MathF.Min(MathF.Max(x * (1f / 6f) + 0.5f, 0f), 1f),
        ActivationKind.Exp => MathF.Exp(x),
        ActivationKind.Neg => -x,
        ActivationKind.Abs => MathF.Abs(x),
        ActivationKind.Sqrt => MathF.Sqrt(x),
        ActivationKind.Reciprocal => 1f / x,
        ActivationKind.Silu => (float)(x / (1.0 + Math.Exp(-(double)x))),
        ActivationKind.Elu => x >= 0f ? x : activation.Alpha * (MathF.Exp(x) - 1f),
        ActivationKind.Selu => activation.Beta * (x > 0f ? x : activation.Alpha * MathF.Exp(x) - activation.Alpha),
        ActivationKind.Softplus => (float)Softplus(x),
        ActivationKind.Softsign => x / (1f + MathF.Abs(x)),
        ActivationKind.Log => MathF.Log(x),
        ActivationKind.Mish => (float)(x * Math.Tanh(Softplus(x))),
        ActivationKind.Floor => MathF.Floor(x),
        ActivationKind.Ceil => MathF.Ceiling(x),
        ActivationKind.Round => MathF.Round(x),
        ActivationKind.Sign => float.IsNaN(x) ? x : MathF.Sign(x),
        ActivationKind.Sin => MathF.Sin(x),
        ActivationKind.Cos => MathF.Cos(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation.Kind, "Unknown activation."),
    };

    /// <summary>ln(1 + eˣ) without overflow: x + ln(1 + e⁻ˣ) for positive x.</summary>
    private static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (double.IsNaN(x))
            return x;
        if (ax < ErfCoefficients.SmallLimit)
            return x * Horner(ErfCoefficients.OverXSmall, x * x);
        return Math.CopySign(1.0 - Erfc(ax), x);
    }

    public static double Gelu(double x)
    {
        double z = x / Math.Sqrt(2.0);
        // In the negative tail 1 + erf(z) = erfc(-z) is computed directly to keep relative accuracy.
        double onePlusErf = z <= -ErfCoefficients.GeluTailLimit ? Erfc(-z) : 1.0 + Erf(z);
        return 0.5 * x * onePlusErf;
    }

    /// <summary>erfc(a) for a ≥ 0.45; 0 past <see cref="ErfCoefficients.LargeLimit"/>, as the vector form.</summary>
    private static double Erfc(double a)
    {
        if (a > ErfCoefficients.LargeLimit) return 0;
        double erfcx = a < ErfCoefficients.NearLimit
            ? Horner(ErfCoefficients.ErfcxNear, a - ErfCoefficients.NearCenter)
            : Horner(ErfCoefficients.ErfcxFar, 1.0 / (a * a)) / a;
        return Math.Exp(-a * a) * erfcx;
    }

    private static double Horner(ReadOnlySpan<float> coefficients, double t)
    {
        double p = coefficients[0];
        for (int i = 1; i < coefficients.Length; i++)
            p = p * t + coefficients[i];
        return p;
    }
}
