using TrtEngine.Native.Kernels;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>
/// Streaming stores (a large refit's packing) write exactly what ordinary stores write, wherever the destination
/// starts in its 64-byte line (the partial lines at either end take ordinary stores), and nothing outside it.
/// </summary>
public sealed unsafe class StreamedPackingTests
{
    private const float Guard = -12345.5f;

    public static TheoryData<int> LineOffsets => new(Enumerable.Range(0, 16));

    /// <summary>
    /// Runs <paramref name="write"/> into a pinned array at a pointer whose offset in its line is
    /// <paramref name="lineOffset"/> floats, with guard values around it; returns what it wrote and checks the guards.
    /// </summary>
    private static float[] WriteAt(int lineOffset, int length, Action<nint> write)
    {
        var buffer = GC.AllocateArray<float>(length + 32, pinned: true);
        Array.Fill(buffer, Guard);
        fixed (float* start = buffer)
        {
            int shift = (int)(((lineOffset * sizeof(float) - (nint)start) & 63) / sizeof(float));
            Assert.Equal(lineOffset * sizeof(float), (int)(((nint)(start + shift)) & 63));
            write((nint)(start + shift));
            Assert.All(buffer[..shift], v => Assert.Equal(Guard, v));
            Assert.All(buffer[(shift + length)..], v => Assert.Equal(Guard, v));
            return buffer[shift..(shift + length)];
        }
    }

    [Theory]
    [MemberData(nameof(LineOffsets))]
    public void A_streamed_copy_writes_every_float_and_nothing_else(int lineOffset)
    {
        var src = Reference.Random(300, seed: lineOffset);
        foreach (int count in new[] { 0, 1, 7, 15, 16, 17, 31, 32, 33, 47, 48, 100, 255, 300 })
            fixed (float* s = src)
            {
                float* from = s;
                var written = WriteAt(lineOffset, count, d => CopyKernels.Stream(from, (float*)d, count));
                Assert.Equal(src[..count], written);
            }
    }

    [Theory]
    [MemberData(nameof(LineOffsets))]
    public void A_range_streamed_in_runs_writes_every_float_and_nothing_else(int lineOffset)
    {
        var src = Reference.Random(400, seed: 100 + lineOffset);
        // Runs shorter than a line, ending on and off line boundaries, and a range within one line.
        int[][] runLengths = [[3], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [5, 20, 16, 0, 7, 64, 9], [16, 16, 16], [100, 3, 200, 33]];
        foreach (var runs in runLengths)
        {
            int length = runs.Sum();
            var written = WriteAt(lineOffset, length, d =>
            {
                float* line = stackalloc float[CopyKernels.LineFloats];
                int lineStart = CopyKernels.LinePlace((float*)d), at = 0;
                fixed (float* s = src)
                    foreach (int run in runs)
                    {
                        CopyKernels.StreamInOrder(s + at, (float*)d + at, run, line, ref lineStart);
                        at += run;
                    }
                CopyKernels.FinishInOrder((float*)d + length, line, lineStart);
                CopyKernels.EndStream();
            });
            Assert.Equal(src[..length], written);
        }
    }

    [Theory]
    [MemberData(nameof(LineOffsets))]
    public void Streamed_packing_writes_the_same_bits_as_ordinary_packing(int lineOffset)
    {
        // A convolution's GEMM panels (taps permuted, folded factors), a GEMM's Bᵀ and B with a scale, and a Winograd
        // weight of each tile size with a partial last panel and partial blocks of input channels.
        const int outC = 37, inC = 11;
        float[] weight = Reference.Random(outC * inC * 9, seed: 1), scales = Reference.Random(outC, seed: 2);
        fixed (float* pw = weight, pf = scales)
        {
            nint w = (nint)pw, factors = (nint)pf;
            foreach (var tactic in GemmKernels.Tactics)
            {
                int panels = GemmKernels.PanelCount(outC, tactic);
                long gemmLength = GemmKernels.PackedLength(inC * 9, outC, tactic);
                var packers = new (string Name, long Length, Func<nint, bool, int, int, float> Pack)[]
                {
                    ("conv", gemmLength, (d, stream, first, end) =>
                        ConvWeightPacking.Pack((float*)w, weight.Length, ConvPacking.Gemm, outC, inC * 9, 9, tactic.Id, (float*)factors, (float*)d, first, end, stream)),
                    ("gemm Bᵀ", gemmLength, (d, stream, first, end) => GemmKernels.PackB((float*)w, inC * 9, outC, true, 0.5f, tactic, (float*)d, first, end, stream)),
                    ("gemm B", gemmLength, (d, stream, first, end) => GemmKernels.PackB((float*)w, inC * 9, outC, false, 0.5f, tactic, (float*)d, first, end, stream)),
                }.Concat(new[] { 4, 3, 2 }.Select(tile => ($"winograd {tile}x{tile}", WinogradTransforms.PackedLength(tile, inC, outC, tactic),
                    (Func<nint, bool, int, int, float>)((d, stream, first, end) =>
                        WinogradTransforms.PackWeights(tile, (float*)w, outC, inC, (float*)factors, tactic, (float*)d, first, end, stream)))));
                foreach (var (name, length, pack) in packers)
                    // Every panel, and the panels after the first or before the last, as a refit's threads share a weight:
                    // the same values, and nothing written outside the panels asked for.
                    foreach (var (first, end) in panels > 1 ? [(0, panels), (1, panels), (0, 1)] : new[] { (0, panels) })
                    {
                        float ordinarySum = 0, streamedSum = 0;
                        var ordinary = WriteAt(0, (int)length, d => ordinarySum = pack(d, false, first, end));
                        var streamed = WriteAt(lineOffset, (int)length, d => streamedSum = pack(d, true, first, end));
                        Assert.True(ordinary.AsSpan().SequenceEqual(streamed), $"{name}, {tactic.Name}, panels {first}…{end}");
                        Assert.Equal(ordinarySum, streamedSum);
                    }
            }
        }
    }
}
