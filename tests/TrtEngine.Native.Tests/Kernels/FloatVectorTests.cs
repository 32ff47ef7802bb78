using System.Runtime.Intrinsics;
using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>
/// The 256-bit vector operations the Winograd jobs run on every CPU: Max and Min keep the instruction's operand order
/// (the second operand where either is NaN, or where both are zeros), with AVX and without it (the test task runs this
/// suite with every SIMD instruction set off too), since activations rely on it to pass NaN through.
/// </summary>
public sealed class FloatVectorTests
{
    private static readonly float[] A = [1f, 3f, float.NaN, 2f, 0f, -0f, float.NegativeInfinity, -5f];
    private static readonly float[] B = [2f, 1f, 4f, float.NaN, -0f, 0f, -1f, -5f];

    private static uint[] Bits(Vector256<float> v) => Enumerable.Range(0, 8).Select(i => BitConverter.SingleToUInt32Bits(v[i])).ToArray();

    private static uint[] Expected(Func<float, float, bool> firstWins) =>
        A.Zip(B, (a, b) => BitConverter.SingleToUInt32Bits(firstWins(a, b) ? a : b)).ToArray();

    [Fact]
    public void Max_returns_the_first_operand_only_where_it_is_greater()
    {
        Assert.Equal(Expected((a, b) => a > b), Bits(Float256.Max(Vector256.Create(A), Vector256.Create(B))));
    }

    [Fact]
    public void Min_returns_the_first_operand_only_where_it_is_less()
    {
        Assert.Equal(Expected((a, b) => a < b), Bits(Float256.Min(Vector256.Create(A), Vector256.Create(B))));
    }
}
