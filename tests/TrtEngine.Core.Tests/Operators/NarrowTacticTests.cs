using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Kernels;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// The narrow tactic (8-wide panels) is a timing candidate where 8 outputs would fill only half of a wider panel
/// (MnasNet's 16 → 8 convolution at 112×112 ran in 94 µs on 16-wide panels, 43 on 8-wide ones), and not where a wider
/// one fits whole: the timing cache's entry naming it is taken for 8 outputs and timed over for 16, or for 8 outputs of
/// an NCHW convolution, whose GEMM has the pixels for columns.
/// </summary>
public sealed class NarrowTacticTests
{
    [Theory]
    [InlineData("Conv", 8, true)]
    [InlineData("Conv", 16, false)]
    [InlineData("Conv", 8, false, false)]
    [InlineData("Gemm", 8, true)]
    [InlineData("Gemm", 16, false)]
    public void Eight_outputs_time_the_narrow_tactic(string op, int outputs, bool candidate, bool channelsLast = true)
    {
        var c = new OperatorCase();
        if (op == "Conv")
        {
            c.Input("x", 1, 16, 20, 20).Weight("w", outputs, 16, 1, 1);
            c.Model.AddNode("Conv", ["x", "w"], ["h"]);
            c.LeaveRegion("h", "y");
        }
        else
        {
            c.Input("x", 64, 16).Weight("w", 16, outputs);
            c.Model.AddNode("Gemm", ["x", "w"], ["y"]);
            c.Output("y");
        }
        var network = OnnxImporter.Import(OnnxModel.Parse(c.Model.ToBytes(), null), "m");
        var cache = new TimingCache();
        var config = new BuilderConfig { OptimizationLevel = 1, TimingCache = cache, ChannelsLast = channelsLast };
        EngineBuilder.Build(network, config);
        using var dir = new TempDirectory();
        cache.Save(dir.File("timing.cache"));
        string prefix = op.ToLowerInvariant() + " ";
        string signature = Assert.Single(File.ReadAllLines(dir.File("timing.cache")), line => line.StartsWith(prefix, StringComparison.Ordinal)).Split('\t')[0];
        cache.Set(signature, op == "Conv" ? "PointwiseGemm:packed_mr12_nr8" : "packed_mr12_nr8", 0.5);
        var layer = EngineBuilder.Build(network, config).Plan.Layers.Single(l => l.Tactic is not null);
        Assert.Equal(candidate, layer.Tactic == "packed_mr12_nr8" && layer.TacticMicroseconds == 0.5);
        Assert.Equal(candidate, GemmKernels.Tactics.Single(t => t.Name == layer.Tactic).Narrow);
    }
}
