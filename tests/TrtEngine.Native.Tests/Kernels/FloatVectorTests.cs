using System.Runtime.Intrinsics;
using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>
/// The vector operations the Winograd jobs run on every CPU (256-bit ones, or 128-bit ones where 256-bit vectors are
/// not hardware-accelerated): Max and Min keep the instruction's operand order (the second operand where either is
/// NaN, or where both are zeros), with AVX and without it (the test task runs this suite with AVX off too), since
/// activations rely on it to pass NaN through; and the 128-bit vector's other operations give the scalar results.
/// The comparisons, selects and bit operations the activations run at 256 and 512 bits give the scalar results at
/// every width.
/// </summary>
public sealed unsafe class FloatVectorTests
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

    [Fact]
    public void Comparisons_selects_and_bit_operations_give_the_scalar_results_at_every_width()
    {
        CheckLanes<Float128, Vector128<float>>();
        CheckLanes<Float256, Vector256<float>>();
        CheckLanes<Float512, Vector512<float>>();
    }

    private static void CheckLanes<TOps, TV>() where TOps : struct, IFloatVector<TV> where TV : struct
    {
        // A and B twice over, so a 512-bit vector holds every pair too.
        float[] a = [.. A, .. A], b = [.. B, .. B.Reverse()];
        uint[] Lanes(Func<TV, TV, TV> op)
        {
            var result = new float[16];
            fixed (float* pa = a, pb = b, pr = result)
                TOps.Store(op(TOps.Load(pa), TOps.Load(pb)), pr);
            return Bits(result[..TOps.Count]);
        }
        uint[] Scalar(Func<float, float, uint> op) => Enumerable.Range(0, TOps.Count).Select(i => op(a[i], b[i])).ToArray();
        uint B32(float v) => BitConverter.SingleToUInt32Bits(v);
        uint Mask(bool set) => set ? uint.MaxValue : 0u;
        Assert.Equal(Scalar((x, y) => B32(x) & B32(y)), Lanes(TOps.And));
        Assert.Equal(Scalar((x, y) => B32(x) ^ B32(y)), Lanes(TOps.Xor));
        Assert.Equal(Scalar((x, _) => B32(x) & 0x7FFF_FFFFu), Lanes((x, _) => TOps.Abs(x)));
        Assert.Equal(Scalar((x, y) => Mask(x < y)), Lanes(TOps.LessThan));
        Assert.Equal(Scalar((x, y) => Mask(x <= y)), Lanes(TOps.LessThanOrEqual));
        Assert.Equal(Scalar((x, y) => B32(x < y ? x : y)), Lanes((x, y) => TOps.Select(TOps.LessThan(x, y), x, y)));
        fixed (float* pa = a)
        {
            var first = TOps.Load(pa);
            // A's NaN lane is not less than or equal to itself; every lane of a vector without NaN is.
            Assert.False(TOps.All(TOps.LessThanOrEqual(first, first)));
            var clean = TOps.Select(TOps.LessThanOrEqual(first, first), first, TOps.Create(0f));
            Assert.True(TOps.All(TOps.LessThanOrEqual(clean, clean)));
            Assert.False(TOps.All(TOps.LessThan(clean, TOps.Create(3f))));
        }
    }
}
