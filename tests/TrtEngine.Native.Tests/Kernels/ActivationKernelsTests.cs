using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

public unsafe class ActivationKernelsTests
{
    public static TheoryData<Activation, float, float> Cases => new()
    {
        { new Activation(ActivationKind.Identity), -4f, 4f },
        { new Activation(ActivationKind.Relu), -4f, 4f },
        { new Activation(ActivationKind.Sigmoid), -30f, 30f },
        { new Activation(ActivationKind.Tanh), -12f, 12f },
        { new Activation(ActivationKind.Erf), -5f, 5f },
        { new Activation(ActivationKind.Gelu), -8f, 8f },
        { new Activation(ActivationKind.Clip, -0.5f, 1.5f), -4f, 4f },
        { new Activation(ActivationKind.LeakyRelu, 0.01f), -4f, 4f },
        { new Activation(ActivationKind.HardSigmoid, 0.2f, 0.5f), -4f, 4f },
        { new Activation(ActivationKind.HardSwish), -5f, 5f },
        { new Activation(ActivationKind.Exp), -80f, 80f },
        { new Activation(ActivationKind.Neg), -4f, 4f },
        { new Activation(ActivationKind.Abs), -4f, 4f },
        { new Activation(ActivationKind.Sqrt), 0.001f, 100f },
        { new Activation(ActivationKind.Reciprocal), 0.01f, 10f },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesDoubleReference(Activation activation, float min, float max)
    {
        foreach (int length in new[] { 1, 7, 8, 9, 1037 })
        {
            var x = Reference.Random(length, seed: length, min, max);
            var y = Reference.Pinned(length);
            fixed (float* px = x, py = y)
                ActivationKernels.Apply(activation, px, py, length);
            var expected = new double[length];
            for (int i = 0; i < length; i++)
                expected[i] = Expected(activation, x[i]);
            Assert.True(Reference.RelativeL2(y, expected) <= 1e-6, $"{activation.Kind} length {length}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void InPlaceMatchesOutOfPlace(Activation activation, float min, float max)
    {
        var x = Reference.Random(101, seed: 3, min, max);
        var y = Reference.Pinned(101);
        var z = (float[])x.Clone();
        fixed (float* px = x, py = y, pz = z)
        {
            ActivationKernels.Apply(activation, px, py, 101);
            ActivationKernels.Apply(activation, pz, pz, 101);
        }
        Assert.Equal(y, z);
    }

    /// <summary>
    /// A row runs in 512-bit vectors where the CPU has them, then 256-bit ones, then a padded tail: a value's result must
    /// not depend on which of them it falls in (a GEMM tile's epilogue and a standalone layer cut rows differently).
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_value_gets_the_same_bits_wherever_it_lies_in_a_row(Activation activation, float min, float max)
    {
        var x = Reference.Random(40, seed: 5, min, max);
        uint[]? first = null;
        for (int shift = 0; shift < 16; shift++)
        {
            var row = Reference.Pinned(40 + shift);
            Array.Copy(x, 0, row, shift, 40);
            fixed (float* p = row)
                ActivationKernels.Apply(activation, p, p, row.Length);
            var bits = row[shift..].Select(BitConverter.SingleToUInt32Bits).ToArray();
            first ??= bits;
            Assert.Equal(first, bits);
        }
    }

    /// <summary>Per-element relative error of the transcendental kinds over their whole useful float range.</summary>
    [Theory]
    [InlineData(ActivationKind.Exp, -87f, 88.5f, 2e-7)]
    [InlineData(ActivationKind.Sigmoid, -80f, 80f, 2e-7)]
    [InlineData(ActivationKind.Silu, -80f, 80f, 3e-7)]
    [InlineData(ActivationKind.Tanh, -20f, 20f, 2e-7)]
    [InlineData(ActivationKind.Erf, -6f, 6f, 2e-7)]
    [InlineData(ActivationKind.Gelu, -12f, 12f, 5e-7)] // deep negative tail: exp, erfcx and x·½ roundings add up
    public void MaxRelativeErrorIsAFewUlp(ActivationKind kind, float min, float max, double tolerance)
    {
        const int length = 200_003;
        var x = Reference.Pinned(length);
        for (int i = 0; i < length; i++)
            x[i] = min + (max - min) * i / (length - 1);
        // Add tiny arguments, where relative accuracy is hardest for the odd functions.
        for (int i = 0; i < 100; i++)
            x[i] = MathF.Pow(10f, -30f + 0.3f * i) * (i % 2 == 0 ? 1 : -1);
        var y = Reference.Pinned(length);
        var activation = new Activation(kind);
        fixed (float* px = x, py = y)
            ActivationKernels.Apply(activation, px, py, length);
        double worst = 0;
        float worstAt = 0;
        for (int i = 0; i < length; i++)
        {
            double expected = Expected(activation, x[i]);
            if (Math.Abs(expected) < 1e-37)
                continue; // denormal results carry no relative precision
            double error = Math.Abs(y[i] - expected) / Math.Abs(expected);
            if (error > worst)
                (worst, worstAt) = (error, x[i]);
        }
        Assert.True(worst <= tolerance, $"{kind}: max relative error {worst:E3} at {worstAt:R}");
    }

    [Theory]
    [InlineData(ActivationKind.Sigmoid, -100f, 0f)]
    [InlineData(ActivationKind.Sigmoid, 100f, 1f)]
    [InlineData(ActivationKind.Sigmoid, float.NegativeInfinity, 0f)]
    [InlineData(ActivationKind.Tanh, 50f, 1f)]
    [InlineData(ActivationKind.Tanh, -50f, -1f)]
    [InlineData(ActivationKind.Tanh, float.PositiveInfinity, 1f)]
    [InlineData(ActivationKind.Exp, 100f, float.PositiveInfinity)]
    [InlineData(ActivationKind.Exp, -100f, 0f)]
    [InlineData(ActivationKind.Exp, float.NegativeInfinity, 0f)]
    [InlineData(ActivationKind.Silu, -100f, -0f)]
    [InlineData(ActivationKind.Erf, 10f, 1f)]
    [InlineData(ActivationKind.Erf, float.NegativeInfinity, -1f)]
    [InlineData(ActivationKind.Gelu, 100f, 100f)]
    [InlineData(ActivationKind.Gelu, -100f, 0f)]
    [InlineData(ActivationKind.Gelu, float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(ActivationKind.Gelu, -1e30f, 0f)] // x·Φ(x) underflows: not x times erfc at its cut-off
    [InlineData(ActivationKind.Gelu, float.MinValue, 0f)]
    [InlineData(ActivationKind.Relu, -0f, 0f)]
    public void EdgeValues(ActivationKind kind, float input, float expected)
    {
        float actual = ApplyOne(new Activation(kind), input);
        Assert.True(Math.Abs(actual - expected) <= 1e-30f || actual == expected, $"{kind}({input}) = {actual}, expected {expected}");
    }

    /// <summary>Odd functions keep −0's sign, as ONNX Runtime and the portable path do (the vector tanh once gave +0).</summary>
    [Theory]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Erf)]
    [InlineData(ActivationKind.Gelu)]
    public void Minus_zero_stays_minus_zero(ActivationKind kind) =>
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(ApplyOne(new Activation(kind), -0f)));

    [Fact]
    public void Gelu_of_minus_infinity_is_NaN_as_x_times_Phi_of_x_is() =>
        // −∞ · 0, as ONNX Runtime and torch compute the exporters' x·½·(1 + erf(x/√2)); SiLU does the same (x / (1 + e⁻ˣ)).
        Assert.True(float.IsNaN(ApplyOne(new Activation(ActivationKind.Gelu), float.NegativeInfinity)));

    [Theory]
    [InlineData(ActivationKind.Relu)]
    [InlineData(ActivationKind.Sigmoid)]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Erf)]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Clip)]
    [InlineData(ActivationKind.HardSigmoid)]
    [InlineData(ActivationKind.HardSwish)]
    [InlineData(ActivationKind.LeakyRelu)]
    [InlineData(ActivationKind.Exp)]
    [InlineData(ActivationKind.Silu)]
    [InlineData(ActivationKind.Sqrt)]
    public void NaNPropagates(ActivationKind kind) =>
        Assert.True(float.IsNaN(ApplyOne(new Activation(kind, 0.2f, 0.5f), float.NaN)));

    private static float ApplyOne(in Activation activation, float input)
    {
        // Surround the value with others so the vector path, not only the tail, is exercised.
        var x = Reference.Random(16, seed: 1);
        x[5] = input;
        var y = Reference.Pinned(16);
        fixed (float* px = x, py = y)
            ActivationKernels.Apply(activation, px, py, 16);
        return y[5];
    }

    internal static double Expected(in Activation activation, double x) => activation.Kind switch
    {
        ActivationKind.Identity => x,
        ActivationKind.Relu => Math.Max(x, 0),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        ActivationKind.Silu => x / (1 + Math.Exp(-x)),
        ActivationKind.Tanh => Math.Tanh(x),
        ActivationKind.Erf => Reference.Erf(x),
        ActivationKind.Gelu => Reference.Gelu(x),
        ActivationKind.Clip => Math.Min(Math.Max(x, activation.Alpha), activation.Beta),
        ActivationKind.LeakyRelu => x < 0 ? x * activation.Alpha : x,
        ActivationKind.HardSigmoid => Math.Min(Math.Max(activation.Alpha * x + activation.Beta, 0), 1),
        ActivationKind.HardSwish => x * Math.Min(Math.Max(x / 6 + 0.5, 0), 1),
        ActivationKind.Exp => Math.Exp(x),
        ActivationKind.Neg => -x,
        ActivationKind.Abs => Math.Abs(x),
        ActivationKind.Sqrt => Math.Sqrt(x),
        ActivationKind.Reciprocal => 1 / x,
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };
}
