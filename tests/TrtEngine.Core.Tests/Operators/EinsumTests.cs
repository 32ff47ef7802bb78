using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>Einsum lowered to ReduceSum, Transpose, Reshape and MatMul, against ONNX Runtime on the equations models write.</summary>
public sealed class EinsumTests
{
    [Theory]
    [InlineData("bhqd,bhkd->bhqk", new[] { 2, 3, 4, 5 }, new[] { 2, 3, 6, 5 }, false)] // attention scores
    [InlineData("bhqk,bhkd->bhqd", new[] { 2, 3, 4, 6 }, new[] { 2, 3, 6, 5 }, false)] // attention values
    [InlineData("bld,dh->blh", new[] { 2, 4, 5 }, new[] { 5, 3 }, true)] // a Linear layer by its weight
    [InlineData("bld,hd->blh", new[] { 2, 4, 5 }, new[] { 3, 5 }, true)] // by the weight as nn.Linear holds it
    [InlineData("ij,jk->ik", new[] { 3, 4 }, new[] { 4, 5 }, false)]
    [InlineData("bi,bi->b", new[] { 3, 7 }, new[] { 3, 7 }, false)] // row-wise dot products
    [InlineData("i,j->ij", new[] { 3 }, new[] { 4 }, false)] // outer product
    [InlineData("bij,bjk", new[] { 2, 3, 4 }, new[] { 2, 4, 5 }, false)] // implicit output: bik
    [InlineData("...ij,...jk->...ik", new[] { 2, 3, 4 }, new[] { 2, 4, 3 }, true)] // an ellipsis, batched by a weight
    [InlineData("abc,cd->dba", new[] { 2, 3, 4 }, new[] { 4, 5 }, false)] // the output in another order
    [InlineData("abc,bd->ad", new[] { 2, 3, 4 }, new[] { 3, 5 }, false)] // c summed first (in the first operand alone)
    [InlineData("nchw,nchw->nc", new[] { 2, 3, 4, 5 }, new[] { 2, 3, 4, 5 }, false)] // two contracted labels
    public void Two_operands(string equation, int[] a, int[] b, bool bIsWeight)
    {
        var c = new OperatorCase().Input("a", a).Output("y");
        if (bIsWeight) c.Weight("b", b);
        else c.Input("b", b);
        c.Model.Opset = 12;
        c.Model.AddNode("Einsum", ["a", "b"], ["y"], ("equation", equation));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("ij->ji", new[] { 3, 4 })]
    [InlineData("bij->b", new[] { 2, 3, 4 })]
    [InlineData("ij->", new[] { 3, 4 })]
    [InlineData("...ij->...ji", new[] { 2, 3, 4 })]
    [InlineData("abc", new[] { 2, 3, 4 })] // implicit: abc itself
    public void One_operand(string equation, int[] x)
    {
        var c = new OperatorCase().Input("x", x).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Einsum", ["x"], ["y"], ("equation", equation));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>Attention scores over a dynamic batch: batch labels stay dynamic (copied by the reshapes).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Attention_scores_with_a_dynamic_batch(int batch)
    {
        var c = new OperatorCase().BatchedInput("q", batch, 2, 4, 5).BatchedInput("k", batch, 2, 6, 5).Output("y");
        c.Model.Opset = 12;
        c.Model.AddNode("Einsum", ["q", "k"], ["y"], ("equation", "bhqd,bhkd->bhqk"));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>nn.Linear's weight through an Einsum (transposed at import, a folded operation) refits by its name.</summary>
    [Fact]
    public void A_weight_in_an_einsum_refits_by_its_name() => RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
    {
        m.Opset = 12;
        m.AddInitializer("w", ErrorMetrics.RandomValues(seed, 15), [3, 5]);
        m.AddNode("Einsum", ["x", "w"], ["y"], ("equation", "bld,hd->blh"));
    }, new BuilderConfig { OptimizationLevel = 0 }, [2, 4, 5], _ => { });

    [Theory]
    [InlineData("ii->i", "appears twice")]
    [InlineData("ij,jk,kl->il", "one or two operands")]
    public void A_diagonal_or_three_operands_are_refused(string equation, string says)
    {
        var m = new OnnxModelBuilder { Opset = 12 };
        m.AddInput("x", OnnxDataType.Float, 3, 3);
        m.AddOutput("y", OnnxDataType.Float);
        m.AddNode("Einsum", equation.Split("->")[0].Split(',').Select(_ => "x").ToArray(), ["y"], ("equation", equation));
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains(says, error.Message);
    }
}
