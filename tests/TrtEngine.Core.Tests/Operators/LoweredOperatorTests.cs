using TrtEngine.Native.Builder;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// Operators the engine runs as several layers (ReduceL2, ReduceSumSquare, PRelu, InstanceNormalization) against ONNX
/// Runtime, and their weights refitted by their own names.
/// </summary>
public sealed class LoweredOperatorTests
{
    [Theory]
    [InlineData("ReduceL2", 13, new long[] { 1 }, 1)]
    [InlineData("ReduceL2", 13, new long[] { -1, 2 }, 0)]
    [InlineData("ReduceL2", 18, new long[] { 1 }, 1)]
    [InlineData("ReduceSumSquare", 13, new long[] { 2, 3 }, 1)]
    [InlineData("ReduceSumSquare", 18, new long[0], 0)]
    public void Reductions_of_squares(string op, int opset, long[] axes, int keepdims)
    {
        var c = new OperatorCase().Input("x", 2, 3, 4, 5).Output("y");
        c.Model.Opset = opset;
        if (opset >= 18)
        {
            if (axes.Length > 0) c.Model.AddInitializer("axes", axes, [axes.Length]);
            c.Model.AddNode(op, axes.Length > 0 ? ["x", "axes"] : ["x"], ["y"], ("keepdims", (long)keepdims));
        }
        else c.Model.AddNode(op, ["x"], ["y"], ("axes", axes), ("keepdims", (long)keepdims));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>F.normalize(x, dim=1) as torch exports it: ReduceL2, Clip to ε, Expand to x's shape (read through Shape), Div.</summary>
    [Fact]
    public void Normalize_as_torch_exports_it_with_a_dynamic_batch()
    {
        var c = new OperatorCase().BatchedInput("x", 3, 16).Output("y");
        c.Model.Opset = 17;
        c.Model.AddInitializer("axes", new long[] { 1 }, [1]);
        c.Model.AddNode("ReduceL2", ["x"], ["norm"], ("axes", new long[] { 1 }), ("keepdims", 1L));
        c.Model.AddInitializer("eps", TensorValue.Scalar(1e-12f));
        c.Model.AddNode("Clip", ["norm", "eps"], ["clipped"]);
        c.Model.AddNode("Shape", ["x"], ["s"]);
        c.Model.AddNode("Expand", ["clipped", "s"], ["e"]);
        c.Model.AddNode("Div", ["x", "e"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new[] { 4, 1, 1 })]
    [InlineData(new[] { 1 })]
    public void PRelu_with_a_slope_per_channel_or_one(int[] slope)
    {
        var c = new OperatorCase().Input("x", 2, 4, 5, 3).Weight("slope", slope).Output("y");
        c.Model.AddNode("PRelu", ["x", "slope"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new[] { 2, 4, 5, 6 })]
    [InlineData(new[] { 3, 4, 7 })]
    public void InstanceNormalization(int[] shape)
    {
        var c = new OperatorCase().Input("x", shape).Weight("scale", shape[1]).Weight("bias", shape[1]).Output("y");
        c.Model.AddNode("InstanceNormalization", ["x", "scale", "bias"], ["y"], ("epsilon", 1e-3f));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>nn.GroupNorm(2, 8) as torch exports it: Reshape to [N, groups, −1], InstanceNormalization with unit scale, Reshape back to Shape(x), then γ and β.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GroupNorm_as_torch_exports_it_with_a_dynamic_batch(int batch)
    {
        var c = new OperatorCase().BatchedInput("x", batch, 8, 3, 5).Weight("gamma", 8, 1, 1).Weight("beta", 8, 1, 1).Output("y");
        c.Model.Opset = 17;
        c.Model.AddInitializer("groups", new long[] { 0, 2, -1 }, [3]);
        c.Model.AddNode("Reshape", ["x", "groups"], ["g"]);
        c.Model.AddInitializer("ones", TensorValue.Float([1f, 1f], 2));
        c.Model.AddInitializer("zeros", TensorValue.Float([0f, 0f], 2));
        c.Model.AddNode("InstanceNormalization", ["g", "ones", "zeros"], ["n"], ("epsilon", 1e-5f));
        c.Model.AddNode("Shape", ["x"], ["s"]);
        c.Model.AddNode("Reshape", ["n", "s"], ["back"]);
        c.Model.AddNode("Mul", ["back", "gamma"], ["scaled"]);
        c.Model.AddNode("Add", ["scaled", "beta"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void PRelu_slope_and_InstanceNormalization_scale_and_bias_refit_by_their_names()
    {
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("slope", ErrorMetrics.RandomValues(seed, 6), [6, 1, 1]);
            m.AddInitializer("scale", ErrorMetrics.RandomValues(seed + 10, 6), [6]);
            m.AddInitializer("bias", ErrorMetrics.RandomValues(seed + 20, 6), [6]);
            m.AddNode("PRelu", ["x", "slope"], ["p"]);
            m.AddNode("InstanceNormalization", ["p", "scale", "bias"], ["y"]);
        }, new BuilderConfig { OptimizationLevel = 0 }, [2, 6, 4, 5], _ => { });
    }
}
