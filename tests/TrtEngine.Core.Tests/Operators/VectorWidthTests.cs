using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Tests.Reliability;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// On a CPU with AVX-512 the kernels run 512 bits wide; the 256-bit path (what every CPU without it runs) is forced
/// in a child process with the runtime's own switches (DOTNET_EnableAVX512=0 on .NET 10, or
/// DOTNET_PreferredVectorBitWidth=256) and must give the same outputs.
/// </summary>
public sealed class VectorWidthTests
{
    [SkippableFact]
    public void The_256_bit_kernels_forced_on_an_avx512_cpu_give_the_outputs_of_the_512_bit_ones()
    {
        Skip.IfNot(Avx512F.IsSupported, "this CPU has no AVX-512: every other test already runs the 256-bit kernels");
        using var dir = new TempDirectory();
        // Channels-last region with every wide kernel: a Winograd 3×3 (level 0 picks it here), a 1×1 GEMM, depthwise 3×3
        // with Relu and 5×5 with SiLU at strides 1 and 2, a pool, a concat.
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 2, 24, 20, 20);
        m.AddInitializer("w1", ErrorMetrics.RandomValues(1, 40 * 24 * 9), [40, 24, 3, 3]);
        m.AddInitializer("w2", ErrorMetrics.RandomValues(2, 40 * 9), [40, 1, 3, 3]);
        m.AddInitializer("w3", ErrorMetrics.RandomValues(3, 36 * 40), [36, 40, 1, 1]);
        m.AddInitializer("w4", ErrorMetrics.RandomValues(4, 40 * 25), [40, 1, 5, 5]);
        m.AddNode("Conv", ["x", "w1"], ["a"], ("pads", new long[] { 1, 1, 1, 1 }));
        m.AddNode("Conv", ["a", "w2"], ["b"], ("pads", new long[] { 1, 1, 1, 1 }), ("group", 40L));
        m.AddNode("Relu", ["b"], ["br"]);
        m.AddNode("Conv", ["br", "w3"], ["c"]);
        m.AddNode("MaxPool", ["a"], ["p"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
        m.AddNode("Conv", ["a", "w4"], ["d"], ("pads", new long[] { 2, 2, 2, 2 }), ("group", 40L));
        m.AddNode("Sigmoid", ["d"], ["ds"]);
        m.AddNode("Mul", ["d", "ds"], ["dm"]);
        m.AddNode("Concat", ["c", "p", "dm"], ["cat"], ("axis", 1L));
        m.AddNode("Conv", ["a", "w4"], ["e"], ("pads", new long[] { 2, 2, 2, 2 }), ("strides", new long[] { 2, 2 }), ("group", 40L));
        m.AddNode("Sigmoid", ["e"], ["es"]);
        m.AddNode("Mul", ["e", "es"], ["em"]);
        m.AddNode("Flatten", ["cat"], ["f1"]);
        m.AddNode("Flatten", ["em"], ["f2"]);
        m.AddNode("Concat", ["f1", "f2"], ["y"], ("axis", 1L));
        m.AddOutput("y", OnnxDataType.Float);
        string model = dir.File("model.onnx");
        m.Save(model);

        // Level 0's choice (Winograd F(4×4) for the 3×3 here), then each Winograd algorithm the rule never picks here.
        foreach (string? algorithm in new[] { null, "Winograd3x3", "Winograd2x2" })
            AssertSameOnBothWidths(dir, model, algorithm);
    }

    private static void AssertSameOnBothWidths(TempDirectory dir, string model, string? algorithm)
    {
        (string Isa, float[] Output) Run(string name, Dictionary<string, string> environment)
        {
            string outputs = dir.File(name);
            string[] forced = algorithm is null ? [] : ["--algorithm", algorithm];
            using var worker = new WorkerProcess(environment, ["run", "--model", model, "--outputs", outputs, .. forced]);
            string? isa = worker.WaitFor("ISA ");
            Assert.Equal(0, worker.Finish(TimeSpan.FromMinutes(2)));
            Assert.True(isa is not null, string.Join(" | ", worker.Errors));
            return (isa![4..], MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(outputs)).ToArray());
        }
        var wide = Run($"{algorithm}wide.bin", []);
        Assert.Equal("avx512f", wide.Isa);
        foreach (var (variable, value) in new[] { ("DOTNET_EnableAVX512", "0"), ("DOTNET_PreferredVectorBitWidth", "256") })
        {
            var narrow = Run($"{algorithm}{variable}.bin", new Dictionary<string, string> { [variable] = value });
            Assert.Equal("avx2-fma", narrow.Isa);
            Assert.Equal(wide.Output.Length, narrow.Output.Length);
            Assert.True(ErrorMetrics.RelativeL2(narrow.Output, wide.Output) <= 1e-6, $"{algorithm ?? "level 0"}, {variable}={value}: relative L2 {ErrorMetrics.RelativeL2(narrow.Output, wide.Output):E2}");
        }
    }
}
