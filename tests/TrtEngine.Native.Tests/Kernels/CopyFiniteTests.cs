using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>
/// The copy a refit makes of a caller's array, which also proves it finite: every bit copied, and false exactly when
/// some value is a NaN (any sign or payload) or an infinity, wherever it sits (vector body or tail).
/// </summary>
public sealed unsafe class CopyFiniteTests
{
    public static TheoryData<int> Lengths => new(0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 101, 1000);

    private static bool Run(float[] src, float[] dst)
    {
        fixed (float* s = src, d = dst)
            return PackingKernels.CopyFinite(s, d, src.Length);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Finite_values_copy_bit_for_bit_and_pass(int n)
    {
        // Random values with the finite extremes among them: the largest magnitudes, the smallest subnormal, −0.
        var src = Reference.Random(n, seed: n, -1e3f, 1e3f)[..n];
        float[] extremes = [float.MaxValue, -float.MaxValue, float.Epsilon, -0f, BitConverter.UInt32BitsToSingle(0x7F7FFFFF)];
        for (int i = 0; i < Math.Min(n, extremes.Length); i++) src[(i * 7919) % n] = extremes[i];
        var dst = new float[n];
        Assert.True(Run(src, dst));
        Assert.Equal(src.Select(BitConverter.SingleToUInt32Bits), dst.Select(BitConverter.SingleToUInt32Bits));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void One_non_finite_value_anywhere_fails_and_is_still_copied(int n)
    {
        if (n == 0) return;
        var src = Reference.Random(n, seed: n * 3)[..n];
        uint[] bad = [0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFFFFFFFFu];
        // Every position of short arrays; at 1000, both ends, the middle and a step across the vector bodies.
        var positions = n <= 101 ? Enumerable.Range(0, n) : new[] { 0, 1, 15, 16, 31, 32, 500, 991, 992, 999 }.Concat(Enumerable.Range(0, n / 37).Select(k => k * 37));
        foreach (int index in positions)
            foreach (uint bits in bad)
            {
                var probed = (float[])src.Clone();
                probed[index] = BitConverter.UInt32BitsToSingle(bits);
                var dst = new float[n];
                Assert.False(Run(probed, dst), $"0x{bits:X8} at {index} of {n}");
                Assert.Equal(probed.Select(BitConverter.SingleToUInt32Bits), dst.Select(BitConverter.SingleToUInt32Bits));
            }
    }

    [Fact]
    public void Every_source_alignment_copies_and_checks_its_first_values_too()
    {
        // The loads are aligned to the source: the values before its first 32-byte boundary take a path of their own.
        var src = Reference.Random(200, seed: 5);
        fixed (float* s = src)
            for (int offset = 0; offset < 8; offset++)
            {
                int n = 150;
                var dst = new float[n];
                fixed (float* d = dst) Assert.True(PackingKernels.CopyFinite(s + offset, d, n));
                Assert.Equal(src.Skip(offset).Take(n), dst);
                foreach (int index in new[] { 0, 1, 6, 7, 8, 40, 149 })
                {
                    float kept = s[offset + index];
                    s[offset + index] = float.NaN;
                    fixed (float* d = dst) Assert.False(PackingKernels.CopyFinite(s + offset, d, n), $"NaN at {index} from offset {offset}");
                    s[offset + index] = kept;
                }
            }
    }

    [Fact]
    public void A_source_off_float_boundaries_copies_and_checks_as_well()
    {
        // An ONNX model's raw bytes sit anywhere in the file's buffer: the floats start 1, 2 or 3 bytes past a boundary.
        var values = Reference.Random(300, seed: 9);
        var bytes = new byte[values.Length * sizeof(float) + 8];
        fixed (byte* b = bytes)
            for (int shift = 1; shift < 4; shift++)
            {
                Buffer.BlockCopy(values, 0, bytes, shift, values.Length * sizeof(float));
                var source = (float*)(b + shift);
                var dst = new float[values.Length];
                fixed (float* d = dst) Assert.True(PackingKernels.CopyFinite(source, d, values.Length));
                Assert.Equal(values, dst);
                foreach (int index in new[] { 0, 5, 40, 299 })
                {
                    float kept = source[index];
                    source[index] = float.PositiveInfinity;
                    fixed (float* d = dst) Assert.False(PackingKernels.CopyFinite(source, d, values.Length), $"infinity at {index}, {shift} bytes off");
                    source[index] = kept;
                }
            }
    }
}
