using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>
/// Integer and bool inputs (token ids, masks) computed with as exact floats, against ONNX Runtime: embedding lookups
/// (Gather of a weight at run-time indices), positions, padding masks; and what is refused.
/// </summary>
public sealed class RunTimeIntegerTests
{
    private const long FloatType = (long)OnnxDataType.Float;

    private static void Ints(OperatorCase c, string name, params long[] values) => c.Model.AddInitializer(name, values, [values.Length]);

    [Theory]
    [InlineData(OnnxDataType.Int64, 0, 0)]
    [InlineData(OnnxDataType.Int32, 0, 0)]
    [InlineData(OnnxDataType.Int64, 1, 0)]
    [InlineData(OnnxDataType.Int64, 0, 10)] // ids − 10: negative indices count from the end
    public void Gather_of_a_weight_at_run_time_indices(OnnxDataType type, int axis, int shift)
    {
        var c = new OperatorCase().IntegerInput("ids", type, 20, [2, 5], [2, 5]).Weight("table", axis == 0 ? [20, 8] : [8, 20]).Output("y");
        string indices = "ids";
        if (shift != 0)
        {
            c.Model.AddInitializer("shift", TensorValue.Int64([shift]));
            c.Model.AddNode("Sub", ["ids", "shift"], ["shifted"]);
            indices = "shifted";
        }
        c.Model.AddNode("Gather", ["table", indices], ["y"], ("axis", (long)axis));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// Token and position embeddings and a padding mask as a text encoder's first layers write them, with a dynamic
    /// batch: ids == 0 is padding, zeroed after a layer norm; the positions Range(0, 5) looked up in their own table.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Token_and_position_embeddings_with_a_padding_mask(int batch)
    {
        var c = new OperatorCase().IntegerInput("ids", OnnxDataType.Int64, 6, ["batch", 5], [batch, 5])
            .Weight("tokens", 6, 8).Weight("positions", 5, 8).Weight("ln_scale", 8).Weight("ln_bias", 8).Output("y");
        c.Model.Opset = 17;
        c.Model.AddInitializer("start", TensorValue.Int64([0]));
        c.Model.AddInitializer("limit", TensorValue.Int64([5]));
        c.Model.AddInitializer("delta", TensorValue.Int64([1]));
        c.Model.AddInitializer("pad", TensorValue.Int64([0]));
        c.Model.AddInitializer("one", TensorValue.Scalar(1f));
        Ints(c, "last", -1);
        c.Model.AddNode("Gather", ["tokens", "ids"], ["embedded"]);
        c.Model.AddNode("Range", ["start", "limit", "delta"], ["steps"]);
        c.Model.AddNode("Gather", ["positions", "steps"], ["placed"]);
        c.Model.AddNode("Add", ["embedded", "placed"], ["h"]);
        c.Model.AddNode("LayerNormalization", ["h", "ln_scale", "ln_bias"], ["n"]);
        c.Model.AddNode("Equal", ["ids", "pad"], ["padding"]);
        c.Model.AddNode("Not", ["padding"], ["real"]);
        c.Model.AddNode("Unsqueeze", ["real", "last"], ["real3"]);
        c.Model.AddNode("Cast", ["real3"], ["keep"], ("to", FloatType));
        c.Model.AddNode("Mul", ["n", "keep"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>Constants beside run-time ids: a class token's id concatenated before them, and padding replaced by another id (Where).</summary>
    [Fact]
    public void Integer_constants_concatenated_with_and_chosen_beside_run_time_ids()
    {
        var c = new OperatorCase().IntegerInput("ids", OnnxDataType.Int64, 6, [2, 4], [2, 4]).Weight("table", 8, 3).Output("y");
        c.Model.AddInitializer("cls", TensorValue.Int64([7, 7], 2, 1));
        c.Model.AddInitializer("pad", TensorValue.Int64([0]));
        c.Model.AddInitializer("unknown", TensorValue.Int64([5]));
        c.Model.AddNode("Equal", ["ids", "pad"], ["padding"]);
        c.Model.AddNode("Where", ["padding", "unknown", "ids"], ["filled"]);
        c.Model.AddNode("Concat", ["cls", "filled"], ["tokens"], ("axis", 1L));
        c.Model.AddNode("Gather", ["table", "tokens"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// A dynamic sequence length as Hugging Face models write their positions: a position_ids buffer (int64 [1, 16])
    /// sliced to the ids' length read through Shape, looked up in a position table; and a float table sliced so directly.
    /// </summary>
    [Theory]
    [InlineData(2, 5)]
    [InlineData(3, 11)]
    public void Position_buffers_sliced_to_a_dynamic_sequence_length(int batch, int length)
    {
        var c = new OperatorCase().IntegerInput("ids", OnnxDataType.Int64, 10, ["batch", "seq"], [batch, length])
            .Weight("tokens", 10, 4).Weight("positions", 16, 4).Output("y").Output("z");
        c.Model.Opset = 13;
        c.Model.AddInitializer("position_ids", TensorValue.Int64([.. Enumerable.Range(0, 16).Select(i => (long)i)], 1, 16));
        c.Model.AddNode("Shape", ["ids"], ["shape"]);
        c.Model.AddInitializer("one", TensorValue.Int64([1]));
        c.Model.AddNode("Gather", ["shape", "one"], ["seq"]);
        Ints(c, "zero", 0);
        c.Model.AddNode("Unsqueeze", ["seq", "zero"], ["end"]);
        Ints(c, "axis1", 1);
        c.Model.AddNode("Slice", ["position_ids", "zero", "end", "axis1"], ["sliced_ids"]);
        c.Model.AddNode("Gather", ["positions", "sliced_ids"], ["placed"]);
        c.Model.AddNode("Gather", ["tokens", "ids"], ["embedded"]);
        c.Model.AddNode("Add", ["embedded", "placed"], ["y"]);
        c.Model.AddNode("Slice", ["positions", "zero", "end", "zero"], ["rows"]);
        c.Model.AddNode("Add", ["embedded", "rows"], ["z"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>A bool mask input choosing values, and an int64 mask summed into lengths, cast to float.</summary>
    [Fact]
    public void Bool_and_integer_mask_inputs()
    {
        var c = new OperatorCase().Input("x", 2, 5).IntegerInput("keep", OnnxDataType.Bool, 2, [2, 5], [2, 5])
            .IntegerInput("mask", OnnxDataType.Int64, 2, [2, 5], [2, 5]).Output("y").Output("lengths");
        c.Model.Opset = 13;
        c.Model.AddInitializer("fill", TensorValue.Scalar(-1f));
        Ints(c, "axis", 1);
        c.Model.AddNode("Where", ["keep", "x", "fill"], ["y"]);
        c.Model.AddNode("ReduceSum", ["mask", "axis"], ["sum"], ("keepdims", 0L));
        c.Model.AddNode("Cast", ["sum"], ["lengths"], ("to", FloatType));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>The embedding table is a trained weight: a refit from a second model gives that model's lookups bit for bit.</summary>
    [Fact]
    public void An_embedding_table_refits_by_its_name()
    {
        using var dir = new TempDirectory();
        string[] paths = [dir.File("v1.onnx"), dir.File("v2.onnx")];
        for (int v = 0; v < 2; v++)
        {
            var m = new OnnxModelBuilder();
            m.AddInput("ids", OnnxDataType.Int64, 3, 4);
            m.AddInitializer("table", ErrorMetrics.RandomValues(v + 1, 10 * 6), [10, 6]);
            m.AddNode("Gather", ["table", "ids"], ["y"]);
            m.AddOutput("y", OnnxDataType.Float);
            m.Save(paths[v]);
        }
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(File.ReadAllBytes(paths[0]), null), "m"), new BuilderConfig { OptimizationLevel = 0 });
        Assert.Contains(engine.Plan.Layers, l => l is GatherLayer);
        Assert.Equal([ElementType.Int64], engine.Plan.InputTypes);
        new Refitter(engine).Refit(WeightSources.FromFile(paths[1]));
        float[] ids = [0, 9, 3, 3, 1, 2, 8, 7, 6, 5, 4, 0];
        var context = engine.CreateExecutionContext();
        float[] y = new float[3 * 4 * 6];
        context.Execute([ids], [y]);
        var expected = OrtOracle.Run(File.ReadAllBytes(paths[1]), new Dictionary<string, (int[], float[])> { ["ids"] = ([3, 4], ids) })["y"].Data;
        Assert.Equal(expected, y);
    }

    [Fact]
    public void An_index_outside_the_table_is_the_callers_error()
    {
        var m = new OnnxModelBuilder();
        m.AddInput("ids", OnnxDataType.Int64, 3);
        m.AddInitializer("table", ErrorMetrics.RandomValues(1, 4 * 2), [4, 2]);
        m.AddNode("Gather", ["table", "ids"], ["y"]);
        m.AddOutput("y", OnnxDataType.Float);
        using var dir = new TempDirectory();
        string path = dir.File("m.onnx");
        m.Save(path);
        var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false });
        Assert.Equal("Int64", engine.Inputs[0].DataType);
        var outside = Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]> { ["ids"] = [0, 4, 1] }));
        Assert.Contains("index 4", outside.Message);
        Assert.Contains("[-4, 3]", outside.Message);
        var fraction = Assert.Throws<EngineInputException>(() => engine.Run(new Dictionary<string, float[]> { ["ids"] = [0, 1.5f, 1] }));
        Assert.Contains("element 1 is 1.5", fraction.Message);
        // The engine still runs afterwards.
        Assert.Equal(6, engine.Run(new Dictionary<string, float[]> { ["ids"] = [0, -4, 3] })[0].Data.Length);
    }

    /// <summary>
    /// ArgMax and ArgMin as int64 outputs (logits.argmax(-1)), over each axis, the axis kept or dropped, the first or last
    /// of ties (floors of random values tie often), at opset 12 where select_last_index arrived.
    /// </summary>
    [Theory]
    [InlineData("ArgMax", 2, 1, 0)]
    [InlineData("ArgMax", 0, 0, 0)]
    [InlineData("ArgMax", -2, 1, 1)]
    [InlineData("ArgMin", 1, 0, 0)]
    [InlineData("ArgMin", 2, 0, 1)]
    public void ArgMax_and_ArgMin_give_indices(string op, int axis, int keepdims, int last)
    {
        var c = new OperatorCase().Input("x", 3, 4, 5);
        c.Model.Opset = 12;
        c.Model.AddOutput("values", OnnxDataType.Int64);
        c.Model.AddOutput("ties", OnnxDataType.Int64);
        c.Model.AddInitializer("four", TensorValue.Scalar(4f));
        c.Model.AddNode(op, ["x"], ["values"], ("axis", (long)axis), ("keepdims", (long)keepdims), ("select_last_index", (long)last));
        c.Model.AddNode("Mul", ["x", "four"], ["scaled"]);
        c.Model.AddNode("Floor", ["scaled"], ["floored"]);
        c.Model.AddNode(op, ["floored"], ["ties"], ("axis", (long)axis), ("keepdims", (long)keepdims), ("select_last_index", (long)last));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>CumSum of floats and of run-time integers (positions from a mask: mask.cumsum(1)), exclusive and reversed.</summary>
    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(-1, 1, 0)]
    [InlineData(0, 0, 1)]
    [InlineData(1, 1, 1)]
    public void CumSum_of_floats_and_integers(int axis, int exclusive, int reverse)
    {
        var c = new OperatorCase().Input("x", 3, 6).IntegerInput("mask", OnnxDataType.Int64, 2, [3, 6], [3, 6]).Output("sums");
        c.Model.AddOutput("positions", OnnxDataType.Int64);
        c.Model.AddInitializer("axis", TensorValue.Int64([axis]));
        c.Model.AddNode("CumSum", ["x", "axis"], ["sums"], ("exclusive", (long)exclusive), ("reverse", (long)reverse));
        c.Model.AddNode("CumSum", ["mask", "axis"], ["positions"], ("exclusive", (long)exclusive), ("reverse", (long)reverse));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>torch.gather along each axis, at run-time indices (negative ones from the end) smaller than the data off the axis.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    public void GatherElements_at_run_time_indices(int axis)
    {
        var c = new OperatorCase().Input("x", 4, 5, 6).IntegerInput("idx", OnnxDataType.Int64, 8, [3, 4, 2], [3, 4, 2]).Output("y");
        c.Model.Opset = 13;
        c.Model.AddInitializer("four", TensorValue.Int64([4]));
        c.Model.AddNode("Sub", ["idx", "four"], ["signed"]);
        c.Model.AddNode("GatherElements", ["x", "signed"], ["y"], ("axis", (long)axis));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>TopK's values and int64 indices, largest or smallest, along each axis, ties (floors) by index.</summary>
    [Theory]
    [InlineData(-1, 3, 1)]
    [InlineData(1, 2, 0)]
    [InlineData(0, 4, 1)]
    public void TopK_values_and_indices(int axis, long k, int largest)
    {
        var c = new OperatorCase().Input("x", 4, 5, 6).Output("values").Output("tied_values");
        c.Model.Opset = 11;
        c.Model.AddOutput("indices", OnnxDataType.Int64);
        c.Model.AddOutput("tied_indices", OnnxDataType.Int64);
        c.Model.AddInitializer("k", TensorValue.Int64([k], 1));
        c.Model.AddInitializer("three", TensorValue.Scalar(3f));
        c.Model.AddNode("TopK", ["x", "k"], ["values", "indices"], ("axis", (long)axis), ("largest", (long)largest));
        c.Model.AddNode("Mul", ["x", "three"], ["scaled"]);
        c.Model.AddNode("Floor", ["scaled"], ["floored"]);
        c.Model.AddNode("TopK", ["floored", "k"], ["tied_values", "tied_indices"], ("axis", (long)axis), ("largest", (long)largest));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Integer_division_of_run_time_integers_is_refused()
    {
        var m = new OnnxModelBuilder();
        m.AddInput("ids", OnnxDataType.Int64, 3);
        m.AddInitializer("two", TensorValue.Int64([2]));
        m.AddNode("Div", ["ids", "two"], ["half"]);
        m.AddNode("Cast", ["half"], ["y"], ("to", FloatType));
        m.AddOutput("y", OnnxDataType.Float);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("does not truncate", error.Message);
    }

    /// <summary>
    /// Integer arithmetic whose output stays an integer (Clip, Pad, Pow, Relu, Sign), then a division or a mean, which
    /// truncate in integers: refused. Found by a QA helper: those outputs were taken for floats, and the Div after them
    /// gave [-2, -1.5, 0, 0.5, …] where ONNX Runtime gives [-2, -1, 0, 0, …]; ReduceMean of integers did not truncate.
    /// </summary>
    [Theory]
    [InlineData("Clip", "Div")]
    [InlineData("Pad", "Div")]
    [InlineData("Pow", "Div")]
    [InlineData("Relu", "Div")]
    [InlineData("Sign", "Div")]
    [InlineData("Identity", "ReduceMean")]
    [InlineData("Identity", "Mean")]
    [InlineData("Pow", "Pow")]
    public void Division_after_integer_arithmetic_that_keeps_integers_is_refused(string first, string then)
    {
        // Opset 14: Relu takes integers from there.
        var m = new OnnxModelBuilder { Opset = 14 };
        m.AddInput("ids", OnnxDataType.Int64, 6);
        m.AddInitializer("lo", TensorValue.Int64([-4]));
        m.AddInitializer("hi", TensorValue.Int64([7]));
        m.AddInitializer("pads", [1L, 1L], [2]);
        m.AddInitializer("two", TensorValue.Int64([2]));
        m.AddInitializer("minus", TensorValue.Int64([-1]));
        string[] inputs = first switch { "Clip" => ["ids", "lo", "hi"], "Pad" => ["ids", "pads"], "Pow" => ["ids", "two"], _ => ["ids"] };
        m.AddNode(first, inputs, ["a"]);
        string[] next = then switch { "Div" => ["a", "two"], "Pow" => ["a", "minus"], "Mean" => ["a", "a"], _ => ["a"] };
        m.AddNode(then, next, ["b"]);
        m.AddNode("Cast", ["b"], ["y"], ("to", FloatType));
        m.AddOutput("y", OnnxDataType.Float);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("does not truncate", error.Message);
    }

    /// <summary>
    /// The same arithmetic with nothing that truncates after it: integers out, as ONNX Runtime gives them (it has no
    /// int64 Relu to compare with).
    /// </summary>
    [Theory]
    [InlineData("Clip")]
    [InlineData("Pad")]
    [InlineData("Pow")]
    [InlineData("Sign")]
    public void Integer_arithmetic_that_keeps_integers_gives_integer_outputs(string op)
    {
        var c = new OperatorCase().IntegerInput("ids", OnnxDataType.Int64, 30, [6], [6]);
        var m = c.Model;
        m.Opset = 14;
        m.AddInitializer("lo", TensorValue.Int64([4]));
        m.AddInitializer("hi", TensorValue.Int64([20]));
        m.AddInitializer("pads", [1L, 2L], [2]);
        m.AddInitializer("two", TensorValue.Int64([2]));
        m.AddNode(op, op switch { "Clip" => ["ids", "lo", "hi"], "Pad" => ["ids", "pads"], "Pow" => ["ids", "two"], _ => ["ids"] }, ["y"]);
        m.AddOutput("y", OnnxDataType.Int64);
        c.AssertMatchesOnnxRuntime();
        Assert.Equal([ElementType.Int64], c.Plan!.OutputTypes);
    }

    /// <summary>Mod of a run-time integer is refused naming it as such (it was said to work "on float tensors here").</summary>
    [Fact]
    public void Mod_of_a_run_time_integer_is_refused_naming_it()
    {
        var m = new OnnxModelBuilder { Opset = 13 };
        m.AddInput("ids", OnnxDataType.Int64, 3);
        m.AddInitializer("three", TensorValue.Int64([3]));
        m.AddNode("Mod", ["ids", "three"], ["r"]);
        m.AddNode("Cast", ["r"], ["y"], ("to", FloatType));
        m.AddOutput("y", OnnxDataType.Float);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("works on 'ids', an integer tensor computed at run time; TrtEngine evaluates Mod only on integer tensors known at import", error.Message);
    }

    /// <summary>Run-time integers as graph outputs: their values, DataType Int64 and Int32 as declared.</summary>
    [Fact]
    public void Integer_outputs_are_given_with_their_type()
    {
        var c = new OperatorCase().IntegerInput("ids", OnnxDataType.Int64, 30, [2, 4], [2, 4]).IntegerInput("small", OnnxDataType.Int32, 5, [4], [4]);
        c.Model.AddOutput("shifted", OnnxDataType.Int64);
        c.Model.AddOutput("same", OnnxDataType.Int32);
        c.Model.AddInitializer("two", TensorValue.Int64([2]));
        c.Model.AddNode("Mul", ["ids", "two"], ["shifted"]);
        c.Model.AddNode("Identity", ["small"], ["same"]);
        c.AssertMatchesOnnxRuntime();
        Assert.Equal([ElementType.Int64, ElementType.Int32], c.Plan!.OutputTypes);
    }

    [Fact]
    public void A_cast_of_run_time_floats_to_integers_is_still_refused()
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 3);
        m.AddNode("Cast", ["x"], ["i"], ("to", (long)OnnxDataType.Int64));
        m.AddNode("Cast", ["i"], ["y"], ("to", FloatType));
        m.AddOutput("y", OnnxDataType.Float);
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains("computed at run time", error.Message);
    }
}
