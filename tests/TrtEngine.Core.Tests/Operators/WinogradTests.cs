using TrtEngine.Native.Builder;
using TrtEngine.Native.Layers;

namespace TrtEngine.Core.Tests.Operators;

public sealed class WinogradTests
{
    [Theory]
    [InlineData(1, 16, 16, 8, 8, 1)]
    [InlineData(1, 64, 64, 56, 56, 1)]
    [InlineData(1, 256, 256, 14, 14, 1)]
    [InlineData(2, 5, 7, 13, 11, 0)]
    public void Probe(int batch, int inC, int outC, int h, int w, int pad)
    {
        var c = new OperatorCase().Input("x", batch, inC, h, w).Weight("w", outC, inC, 3, 3).Weight("b", outC);
        c.Model.AddNode("Conv", ["x", "w", "b"], ["h"], ("pads", new long[] { pad, pad, pad, pad }));
        c.Model.AddInitializer("one", [1f], [1]);
        c.Model.AddNode("Mul", ["h", "one"], ["y"]);
        c.Output("y");
        var wino = c.Compare(new BuilderConfig { ForceConvAlgorithm = ConvAlgorithm.Winograd, OptimizationLevel = 0 });
        Assert.Contains(c.Plan!.Layers, l => l is ConvLayer { Algorithm: ConvAlgorithm.Winograd });
        var im2col = c.Compare(new BuilderConfig { OptimizationLevel = 0 });
        Assert.Fail($"winograd {wino.Engine:E2} im2col {im2col.Engine:E2} reference {wino.Reference:E2}");
    }
}
