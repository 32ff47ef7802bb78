using System.Runtime.Intrinsics;
using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>
/// The vector operations the Winograd jobs run on every CPU (256-bit ones, or 128-bit ones where 256-bit vectors are
/// not hardware-accelerated): Max and Min keep the instruction's operand order (the second operand where either is
/// NaN, or where both are zeros), with AVX and without it (the test task runs this suite with AVX off too), since
/// activations rely on it to pass NaN through; and the 128-bit vector's other operations give the scalar results.
/// </summary>
public sealed class FloatVectorTests
{
    private static readonly float[] A = [1f, 3f, float.NaN, 2f, 0f, -0f, float.NegativeInfinity, -5f];
    private static readonly float[] B = [2f, 1f, 4f, float.NaN, -0f, 0f, -1f, -5f];

    private static uint[] Bits(params float[] values) => values.Select(BitConverter.SingleToUInt32Bits).ToArray();

    private static uint[] Bits(Vector256<float> v) => Bits(Enumerable.Range(0, 8).Select(i => v[i]).ToArray());

    private static uint[] Bits(Vector128<float> low, Vector128<float> high) => Bits(Enumerable.Range(0, 8).Select(i => i < 4 ? low[i] : high[i - 4]).ToArray());

    private static uint[] Expected(Func<float, float, bool> firstWins) => Bits(A.Zip(B, (a, b) => firstWins(a, b) ? a : b).ToArray());

    private static Vector128<float> Low(float[] values) => Vector128.Create(values[0], values[1], values[2], values[3]);

    private static Vector128<float> High(float[] values) => Vector128.Create(values[4], values[5], values[6], values[7]);

    [Fact]
    public void Max_returns_the_first_operand_only_where_it_is_greater()
    {
        Assert.Equal(Expected((a, b) => a > b), Bits(Float256.Max(Vector256.Create(A), Vector256.Create(B))));
        Assert.Equal(Expected((a, b) => a > b), Bits(Float128.Max(Low(A), Low(B)), Float128.Max(High(A), High(B))));
    }

    [Fact]
    public void Min_returns_the_first_operand_only_where_it_is_less()
    {
        Assert.Equal(Expected((a, b) => a < b), Bits(Float256.Min(Vector256.Create(A), Vector256.Create(B))));
        Assert.Equal(Expected((a, b) => a < b), Bits(Float128.Min(Low(A), Low(B)), Float128.Min(High(A), High(B))));
    }

    [Fact]
    public void The_128_bit_vector_rounds_scales_keeps_NaN_and_sums_as_scalar_code()
    {
        float[] x = [2.5f, -3.5f, 0.49999997f, -1e9f];
        Assert.Equal(Bits(x.Select(v => MathF.Round(v)).ToArray()), Bits(Float128.RoundToNearest(Low(x)), Vector128<float>.Zero)[..4]);
        // 2ⁿ from far below the normal range to the top of it, and a result that overflows.
        float[] p = [1.5f, -3f, 1.5f, 2f], n = [-140f, 10f, 127f, 128f];
        float[] scaled = [1.5f * MathF.ScaleB(1f, -140), -3072f, 1.5f * MathF.ScaleB(1f, 127), float.PositiveInfinity];
        Assert.Equal(Bits(scaled), Bits(Float128.ScaleByPowerOfTwo(Low(p), Low(n)), Vector128<float>.Zero)[..4]);
        float[] withNaN = [1f, float.NaN, -2f, float.NaN];
        Assert.Equal(Bits(7f, float.NaN, 7f, float.NaN), Bits(Float128.KeepNaN(Low(withNaN), Vector128.Create(7f)), Vector128<float>.Zero)[..4]);
        var sums = Float128.SumEach(Vector128.Create(1f), Vector128.Create(2f), Vector128.Create(3f), Vector128.Create(4f),
            Vector128.Create(5f), Vector128.Create(6f), Vector128.Create(7f), Vector128.Create(8f, 0f, 0f, 0f));
        Assert.Equal(Bits(4f, 8f, 12f, 16f, 20f, 24f, 28f, 8f), Bits(sums));
    }
}
