using System.Diagnostics;
using TrtEngine.Native.Kernels;
using Xunit.Abstractions;

namespace TrtEngine.Native.Tests.Kernels;

/// <summary>Prints im2col time for MobileNetV2's first convolution (3×3 stride 2 on 3×224×224); no timing assertions.</summary>
public sealed unsafe class Im2ColPerfTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Perf")]
    public void PrintStride2Time()
    {
        var w = WindowCases.Square(channels: 3, size: 224, kernel: 3, stride: 2, pad: 1);
        var x = Reference.Random(WindowCases.InputLength(w), seed: 1);
        var col = Reference.Pinned(3 * 9 * w.OutH * w.OutW);
        fixed (float* px = x, pc = col)
        {
            Im2Col.Run(px, 3, w, pc);
            double best = double.MaxValue;
            for (int trial = 0; trial < 5; trial++)
            {
                long start = Stopwatch.GetTimestamp();
                int reps = 0;
                do
                {
                    Im2Col.Run(px, 3, w, pc);
                    reps++;
                }
                while (Stopwatch.GetElapsedTime(start).TotalMilliseconds < 20);
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds / reps);
            }
            output.WriteLine($"im2col 3x3 stride 2 1x3x224x224: {best * 1e6:F0} us");
        }
    }
}
