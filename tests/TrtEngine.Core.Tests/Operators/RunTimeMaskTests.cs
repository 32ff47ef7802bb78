using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// Booleans computed at run time (comparisons, Not, And, Or, Xor, Cast to bool) and Where choosing by them, against
/// ONNX Runtime: masked_fill and torch.where as torch exports them.
/// </summary>
public sealed class RunTimeMaskTests
{
    private const long FloatType = (long)OnnxDataType.Float, BoolType = (long)OnnxDataType.Bool;

    public static TheoryData<string, int[], int[], bool> Comparisons()
    {
        var data = new TheoryData<string, int[], int[], bool>();
        foreach (string op in new[] { "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual" })
        {
            data.Add(op, [3, 4], [3, 4], false);
            data.Add(op, [2, 3, 4], [4], true);
            data.Add(op, [2, 1, 4], [3, 1], false);
            data.Add(op, [1], [2, 5], true);
        }
        return data;
    }

    /// <summary>
    /// Each comparison of floors (-1 or 0 from random values in [-1, 1): ties half the time, where Less and LessOrEqual
    /// differ) and of the values themselves, cast to float.
    /// </summary>
    [Theory]
    [MemberData(nameof(Comparisons))]
    public void Comparison_of_run_time_tensors(string op, int[] a, int[] b, bool bIsWeight)
    {
        var c = new OperatorCase().Input("a", a).Output("ties").Output("values");
        c.Model.Opset = 12;
        c.Model.AddNode("Floor", ["a"], ["fa"]);
        if (bIsWeight)
        {
            // A trained weight is not floored at import (a refit could change it): the floors are the weight.
            c.Weight("b", b);
            c.Model.AddInitializer("fb", Array.ConvertAll(ErrorMetrics.RandomValues(3, b.Aggregate(1, (n, d) => n * d)), MathF.Floor), [.. b.Select(d => (long)d)]);
        }
        else
        {
            c.Input("b", b);
            c.Model.AddNode("Floor", ["b"], ["fb"]);
        }
        c.Model.AddNode(op, ["fa", "fb"], ["t"]);
        c.Model.AddNode("Cast", ["t"], ["ties"], ("to", FloatType));
        c.Model.AddNode(op, ["a", "b"], ["v"]);
        c.Model.AddNode("Cast", ["v"], ["values"], ("to", FloatType));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>torch.where(x &gt; 0, x, 0.1 * x), and the same through a channels-last region (a convolution before it).</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Where_between_run_time_tensors(int level)
    {
        var c = new OperatorCase().Input("x", 2, 3, 6, 5).Weight("w", 4, 3, 3, 3).Output("y");
        c.Model.AddNode("Conv", ["x", "w"], ["h"], ("pads", new long[] { 1, 1, 1, 1 }));
        c.Model.AddInitializer("zero", TensorValue.Scalar(0f));
        c.Model.AddInitializer("slope", TensorValue.Scalar(0.1f));
        c.Model.AddNode("Greater", ["h", "zero"], ["positive"]);
        c.Model.AddNode("Mul", ["h", "slope"], ["scaled"]);
        c.Model.AddNode("Where", ["positive", "h", "scaled"], ["y"]);
        c.AssertMatchesOnnxRuntime(level);
    }

    /// <summary>The three operands broadcast together: a condition [2, 1, 4], a value [2, 3, 4], a scalar; and two weights by a run-time condition.</summary>
    [Fact]
    public void Where_broadcasts_its_three_operands()
    {
        var c = new OperatorCase().Input("m", 2, 1, 4).Input("x", 2, 3, 4).Weight("w1", 4).Weight("w2", 3, 4).Output("y").Output("z");
        c.Model.AddInitializer("zero", TensorValue.Scalar(0f));
        c.Model.AddInitializer("fill", TensorValue.Scalar(-5f));
        c.Model.AddNode("Less", ["m", "zero"], ["negative"]);
        c.Model.AddNode("Where", ["negative", "fill", "x"], ["y"]);
        c.Model.AddNode("Where", ["negative", "w1", "w2"], ["z"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>A condition known at import (a bool initializer) choosing between a run-time tensor and a weight.</summary>
    [Fact]
    public void Where_with_a_condition_known_at_import()
    {
        var c = new OperatorCase().Input("x", 2, 3, 4).Weight("w", 4).Output("y");
        c.Model.AddInitializer("keep", TensorValue.Bool([true, false, true], 3, 1));
        c.Model.AddNode("Where", ["keep", "x", "w"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Not_And_Or_Xor_of_run_time_booleans()
    {
        var c = new OperatorCase().Input("a", 3, 5).Input("b", 5).Output("and").Output("or").Output("xor");
        c.Model.AddInitializer("zero", TensorValue.Scalar(0f));
        c.Model.AddInitializer("half", TensorValue.Scalar(0.5f));
        c.Model.AddInitializer("known", TensorValue.Bool([true, false, true, true, false], 5));
        c.Model.AddNode("Less", ["a", "zero"], ["p"]);
        c.Model.AddNode("Greater", ["b", "half"], ["q"]);
        c.Model.AddNode("Not", ["q"], ["nq"]);
        c.Model.AddNode("And", ["p", "nq"], ["pq"]);
        c.Model.AddNode("Or", ["p", "known"], ["pk"]);
        c.Model.AddNode("Xor", ["p", "q"], ["x"]);
        foreach (var (value, output) in new[] { ("pq", "and"), ("pk", "or"), ("x", "xor") })
            c.Model.AddNode("Cast", [value], [output], ("to", FloatType));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// Attention scores masked as torch's masked_fill(mask, -inf) writes it, then Softmax, with a dynamic batch: a
    /// padding mask from a float input (true where it is below 0; the first key is never masked, so no row is all −∞).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Masked_fill_with_minus_infinity_before_a_softmax(int batch)
    {
        var c = new OperatorCase().BatchedInput("scores", batch, 2, 4, 5).BatchedInput("padding", batch, 5).Output("y");
        c.Model.Opset = 17;
        c.Model.AddInitializer("zero", TensorValue.Scalar(0f));
        c.Model.AddInitializer("axes", new long[] { 1, 2 }, [2]);
        c.Model.AddInitializer("maskable", TensorValue.Bool([false, true, true, true, true], 5));
        c.Model.AddNode("Constant", [], ["ninf"], ("value", TensorValue.Scalar(float.NegativeInfinity)));
        c.Model.AddNode("Less", ["padding", "zero"], ["below"]);
        c.Model.AddNode("And", ["below", "maskable"], ["pad"]);
        c.Model.AddNode("Unsqueeze", ["pad", "axes"], ["pad4"]);
        c.Model.AddNode("Where", ["pad4", "ninf", "scores"], ["masked"]);
        c.Model.AddNode("Softmax", ["masked"], ["y"], ("axis", -1L));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>Cast to bool is true where the value is not 0 (a ReLU's zeros false), then Where by it.</summary>
    [Fact]
    public void Cast_of_a_run_time_tensor_to_bool()
    {
        var c = new OperatorCase().Input("x", 3, 8).Weight("w", 8).Output("y");
        c.Model.AddNode("Relu", ["x"], ["r"]);
        c.Model.AddNode("Cast", ["r"], ["nonzero"], ("to", BoolType));
        c.Model.AddNode("Where", ["nonzero", "x", "w"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// Comparisons with NaN are false, infinities compare by sign, −0 equals +0; NaN cast to bool is true; Where passes
    /// NaN and ∞ through; IsNaN and IsInf (either sign, one, or none) find them.
    /// </summary>
    [Theory]
    [InlineData("Equal")]
    [InlineData("Less")]
    [InlineData("Greater")]
    [InlineData("LessOrEqual")]
    [InlineData("GreaterOrEqual")]
    [InlineData("Cast")]
    [InlineData("Where")]
    [InlineData("IsNaN")]
    [InlineData("IsInf", 1, 1)]
    [InlineData("IsInf", 1, 0)]
    [InlineData("IsInf", 0, 1)]
    [InlineData("IsInf", 0, 0)]
    public void Masks_of_special_values(string op, long detectNegative = 1, long detectPositive = 1)
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, -1f, 1f, float.MaxValue, float.MinValue, float.Epsilon];
        float[] b = [0f, float.PositiveInfinity, float.NaN, -0f, 0f, -1f, 2f, float.PositiveInfinity, float.NegativeInfinity, 0f];
        int[] shape = [x.Length];
        var m = new OnnxModelBuilder { Opset = 12 }; // LessOrEqual's first
        m.AddInput("x", OnnxDataType.Float, x.Length);
        m.AddInput("b", OnnxDataType.Float, x.Length);
        m.AddOutput("y", OnnxDataType.Float);
        switch (op)
        {
            case "Cast": m.AddNode("Cast", ["x"], ["mask"], ("to", BoolType)); break;
            case "Where": m.AddNode("Equal", ["b", "b"], ["mask"]); break;
            case "IsNaN": m.AddNode("IsNaN", ["x"], ["mask"]); break;
            case "IsInf": m.AddNode("IsInf", ["x"], ["mask"], ("detect_negative", detectNegative), ("detect_positive", detectPositive)); break;
            default: m.AddNode(op, ["x", "b"], ["mask"]); break;
        }
        if (op == "Where") m.AddNode("Where", ["mask", "x", "b"], ["y"]);
        else m.AddNode("Cast", ["mask"], ["y"], ("to", FloatType));
        var feeds = new Dictionary<string, (int[], float[])> { ["x"] = (shape, x), ["b"] = (shape, b) };
        float[] expected = OrtOracle.Run(m.ToBytes(), feeds)["y"].Data;
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"), new BuilderConfig { OptimizationLevel = 0 });
        var context = engine.CreateExecutionContext();
        float[] y = new float[x.Length];
        context.Execute([x, b], [y]);
        for (int i = 0; i < x.Length; i++)
            Assert.True(expected[i].Equals(y[i]), $"{op}({x[i]}, {b[i]}): engine {y[i]}, ONNX Runtime {expected[i]}");
    }

    /// <summary>Where's weight operand (a trained parameter) refits by its name, bit for bit as a fresh build.</summary>
    [Fact]
    public void A_weight_chosen_by_Where_refits_by_its_name()
    {
        RefitComparison.AssertRefitEqualsFreshBuild((m, seed) =>
        {
            m.AddInitializer("floor", ErrorMetrics.RandomValues(seed, 6), [6]);
            m.AddNode("Less", ["x", "floor"], ["below"]);
            m.AddNode("Where", ["below", "floor", "x"], ["y"]);
        }, new BuilderConfig { OptimizationLevel = 0 }, [4, 6], engine => Assert.Contains(engine.Plan.Layers, l => l.Kind == LayerKind.Select));
    }

    /// <summary>A comparison as a graph output: 1 and 0, its DataType Bool.</summary>
    [Fact]
    public void A_bool_graph_output_is_given_as_ones_and_zeros()
    {
        var c = new OperatorCase().Input("x", 3, 4);
        c.Model.AddOutput("y", OnnxDataType.Bool);
        c.Model.AddInitializer("zero", TensorValue.Scalar(0f));
        c.Model.AddNode("Less", ["x", "zero"], ["y"]);
        c.AssertMatchesOnnxRuntime();
        Assert.Equal(Native.Network.ElementType.Bool, c.Plan!.OutputTypes[0]);
    }

    /// <summary>torch.triu and tril of a run-time tensor, with a diagonal offset, on the dims past a dynamic batch.</summary>
    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 2)]
    [InlineData(0, -1)]
    [InlineData(0, 0)]
    public void Trilu_of_a_run_time_tensor(int upper, long k)
    {
        var c = new OperatorCase().BatchedInput("x", 3, 2, 4, 6).Output("y");
        c.Model.Opset = 14;
        c.Model.AddInitializer("k", TensorValue.Int64([k]));
        c.Model.AddNode("Trilu", ["x", "k"], ["y"], ("upper", (long)upper));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>F.one_hot of run-time ids (negative ones counted from the end), along each axis, int64 values cast to float or float values.</summary>
    [Theory]
    [InlineData(-1, true)]
    [InlineData(0, false)]
    [InlineData(1, true)]
    public void OneHot_of_run_time_indices(long axis, bool integerValues)
    {
        var c = new OperatorCase().IntegerInput("ids", OnnxDataType.Int64, 10, [2, 3], [2, 3]).Output("y");
        c.Model.AddInitializer("five", TensorValue.Int64([5]));
        c.Model.AddNode("Sub", ["ids", "five"], ["signed"]);
        c.Model.AddInitializer("depth", TensorValue.Int64([5]));
        if (integerValues) c.Model.AddInitializer("values", TensorValue.Int64([0, 1], 2));
        else c.Model.AddInitializer("values", TensorValue.Float([-0.5f, 2f], 2));
        c.Model.AddNode("OneHot", ["signed", "depth", "values"], [integerValues ? "hot" : "y"], ("axis", axis));
        if (integerValues) c.Model.AddNode("Cast", ["hot"], ["y"], ("to", FloatType));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// GatherND at run-time index tuples of 1, 2 or 3 components (each from its dim's −size to size − 1, negative ones
    /// counted from the end), as torch's dynamo-based exporter writes x[i, j] (with a dynamic batch: the text_last_token
    /// pattern fixtures).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void GatherND_at_run_time_index_tuples(int k)
    {
        var c = new OperatorCase().Input("x", 3, 4, 5).IntegerInput("ids", OnnxDataType.Int64, 6, [7, k], [7, k]).Output("y");
        c.Model.AddInitializer("shift", TensorValue.Int64(new long[] { 3, 4, 5 }[..k], k));
        c.Model.AddNode("Sub", ["ids", "shift"], ["tuples"]);
        c.Model.AddNode("GatherND", ["x", "tuples"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>GatherND at index tuples known at import, in a [2, 2, 2] block (a Gather at import takes a vector of indices).</summary>
    [Fact]
    public void GatherND_at_known_index_tuples_of_rank_three()
    {
        var c = new OperatorCase().Input("x", 3, 4, 5).Output("y");
        c.Model.AddInitializer("tuples", TensorValue.Int64([0, 1, 2, -1, 1, 3, 0, 0, 2, 2, -3, -4, 1, 1, 0, 2], 2, 2, 2, 2));
        c.Model.AddNode("Concat", ["x", "x"], ["xx"], ("axis", 0L));
        c.Model.AddNode("GatherND", ["xx", "tuples"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>A component out of its dim's range is refused when the engine meets it, as ONNX Runtime refuses it, even where the flat index it makes is in range.</summary>
    [Fact]
    public void GatherND_refuses_a_component_out_of_range()
    {
        var m = new OnnxModelBuilder { Opset = 17 };
        m.AddInput("x", OnnxDataType.Float, 3, 4, 5);
        m.AddInput("ids", OnnxDataType.Int64, 1, 2);
        m.AddNode("GatherND", ["x", "ids"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        using var dir = new TempDirectory();
        string path = dir.File("gathernd.onnx");
        m.Save(path);
        using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var x = new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(3, 60) };
        Assert.Equal(x["x"][20..25], engine.Run(new Dictionary<string, float[]>(x) { ["ids"] = [1, 0] })[0].Data);
        Assert.Equal(x["x"][55..60], engine.Run(new Dictionary<string, float[]>(x) { ["ids"] = [-1, -1] })[0].Data);
        Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]>(x) { ["ids"] = [0, 5] }));
    }

    /// <summary>
    /// A boolean mask the exporter computed ahead (an initializer, as torch's dynamo-based exporter writes a Hugging Face
    /// model's causal mask) expanded to the input's dynamic batch and choosing with Where: a run-time mask from there on.
    /// </summary>
    [Fact]
    public void A_boolean_initializer_expanded_to_the_batch_masks_with_where()
    {
        var c = new OperatorCase().BatchedInput("x", 3, 4, 4).Output("y");
        c.Model.Opset = 18;
        c.Model.AddInitializer("causal", TensorValue.Bool([.. Enumerable.Range(0, 16).Select(i => i % 4 <= i / 4)], 1, 4, 4));
        c.Model.AddNode("Shape", ["x"], ["shape"], ("end", 1L));
        c.Model.AddInitializer("rest", TensorValue.Int64([4, 4], 2));
        c.Model.AddNode("Concat", ["shape", "rest"], ["target"], ("axis", 0L));
        c.Model.AddNode("Expand", ["causal", "target"], ["mask"]);
        c.Model.AddInitializer("lowest", TensorValue.Scalar(-1e9f));
        c.Model.AddNode("Where", ["mask", "x", "lowest"], ["scores"]);
        c.Model.AddNode("Softmax", ["scores"], ["y"], ("axis", -1L));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>A float depth is cast to int64 before use, as the operator defines it: 5.7 makes five classes.</summary>
    [Fact]
    public void OneHot_with_a_float_depth()
    {
        var c = new OperatorCase().IntegerInput("ids", OnnxDataType.Int64, 5, [2, 3], [2, 3]).Output("y");
        c.Model.AddInitializer("depth", TensorValue.Float([5.7f], 1));
        c.Model.AddInitializer("values", TensorValue.Float([-0.5f, 2f], 2));
        c.Model.AddNode("OneHot", ["ids", "depth", "values"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>mask.long().sum(1): a boolean cast to int64 is an exact integer, counted and cast back to float.</summary>
    [Fact]
    public void A_run_time_boolean_cast_to_int64_and_counted()
    {
        var c = new OperatorCase().Input("x", 3, 7).Output("y");
        c.Model.Opset = 13;
        c.Model.AddInitializer("zero", TensorValue.Scalar(0f));
        c.Model.AddInitializer("axis", new long[] { 1 }, [1]);
        c.Model.AddNode("Less", ["x", "zero"], ["b"]);
        c.Model.AddNode("Cast", ["b"], ["i"], ("to", (long)OnnxDataType.Int64));
        c.Model.AddNode("ReduceSum", ["i", "axis"], ["count"], ("keepdims", 0L));
        c.Model.AddNode("Cast", ["count"], ["y"], ("to", FloatType));
        c.AssertMatchesOnnxRuntime();
    }
}
