using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Operators;

/// <summary>Every supported operator against ONNX Runtime on fresh random inputs: relative L2 error ≤ 1e-5.</summary>
public sealed class OperatorTests
{
    [Theory]
    [InlineData(0, 0, 1f, 1f, "col")]
    [InlineData(0, 1, 1f, 1f, "col")]
    [InlineData(1, 0, 0.5f, 2f, "col")]
    [InlineData(1, 1, 2f, 0.25f, "row1")]
    [InlineData(0, 1, 1f, 1f, "scalar")]
    [InlineData(0, 1, 1f, 1f, "full")]
    [InlineData(0, 1, 1.5f, 1f, "none")]
    // One row by a transposed B keeps its rows (dot products, B scaled by alpha when it is not 1).
    [InlineData(0, 1, 1f, 1f, "col", 1)]
    [InlineData(0, 1, 1.5f, 0.5f, "row1", 1)]
    [InlineData(0, 1, 2f, 1f, "none", 1)]
    [InlineData(0, 1, 1f, 1f, "full", 1)]
    [InlineData(1, 1, 1f, 1f, "col", 1)]
    public void Gemm(int transA, int transB, float alpha, float beta, string bias, int m = 5)
    {
        const int k = 37, n = 19;
        var c = new OperatorCase().Input("a", transA == 1 ? [k, m] : [m, k]).Weight("b", transB == 1 ? [n, k] : [k, n]).Output("y");
        var inputs = new List<string> { "a", "b" };
        if (bias != "none")
        {
            c.Weight("c", bias switch { "col" => [n], "row1" => [1, n], "scalar" => [1], _ => [m, n] });
            inputs.Add("c");
        }
        c.Model.AddNode("Gemm", [.. inputs], ["y"], ("transA", (long)transA), ("transB", (long)transB), ("alpha", alpha), ("beta", bias == "full" ? 1f : beta));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Gemm_bias_relu_chain_is_fused_and_exact(int level)
    {
        var c = new OperatorCase().Input("x", 3, 64).Weight("w", 64, 32).Weight("b", 32).Output("y");
        c.Model.AddNode("MatMul", ["x", "w"], ["h"]);
        c.Model.AddNode("Add", ["h", "b"], ["hb"]);
        c.Model.AddNode("Relu", ["hb"], ["y"]);
        c.AssertMatchesOnnxRuntime(level);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Gelu_as_torch_exports_it_is_fused_and_exact(int level)
    {
        var c = new OperatorCase().Input("x", 3, 40).Weight("w", 40, 24).Output("y");
        c.Model.AddNode("MatMul", ["x", "w"], ["h"]);
        c.Model.AddNode("Constant", [], ["c1"], ("value", Testing.Onnx.TensorValue.Scalar(MathF.Sqrt(2f))));
        c.Model.AddNode("Constant", [], ["c2"], ("value", Testing.Onnx.TensorValue.Scalar(1f)));
        c.Model.AddNode("Constant", [], ["c3"], ("value", Testing.Onnx.TensorValue.Scalar(0.5f)));
        c.Model.AddNode("Div", ["h", "c1"], ["d"]);
        c.Model.AddNode("Erf", ["d"], ["e"]);
        c.Model.AddNode("Add", ["e", "c2"], ["a"]);
        c.Model.AddNode("Mul", ["h", "a"], ["m"]);
        c.Model.AddNode("Mul", ["m", "c3"], ["y"]);
        c.AssertMatchesOnnxRuntime(level);
    }

    /// <summary>A GELU constant of higher rank than x broadcasts x to more dims: the five layers stay, so the shape does.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Gelu_whose_constant_adds_dims_keeps_the_broadcast_shape(int ranked)
    {
        var c = new OperatorCase().Input("x", 3, 8).Output("y");
        float[] values = [MathF.Sqrt(2f), 1f, 0.5f];
        for (int k = 0; k < 3; k++)
        {
            var value = k == ranked ? Testing.Onnx.TensorValue.Float([values[k]], 1, 1, 1) : Testing.Onnx.TensorValue.Scalar(values[k]);
            c.Model.AddNode("Constant", [], [$"c{k + 1}"], ("value", value));
        }
        c.Model.AddNode("Div", ["x", "c1"], ["d"]);
        c.Model.AddNode("Erf", ["d"], ["e"]);
        c.Model.AddNode("Add", ["e", "c2"], ["a"]);
        c.Model.AddNode("Mul", ["x", "a"], ["m"]);
        c.Model.AddNode("Mul", ["m", "c3"], ["y"]);
        c.AssertMatchesOnnxRuntime(2);
    }

    [Theory]
    [InlineData(new[] { 4, 6 }, new[] { 6, 5 }, false)]
    [InlineData(new[] { 2, 3, 4, 6 }, new[] { 6, 5 }, true)]
    [InlineData(new[] { 2, 4, 6 }, new[] { 2, 6, 5 }, false)]
    [InlineData(new[] { 2, 1, 4, 6 }, new[] { 3, 6, 5 }, false)]
    [InlineData(new[] { 6 }, new[] { 6, 5 }, true)]
    [InlineData(new[] { 3, 6 }, new[] { 6 }, false)]
    public void MatMul(int[] a, int[] b, bool bIsWeight)
    {
        var c = new OperatorCase().Input("a", a).Output("y");
        if (bIsWeight) c.Weight("b", b);
        else c.Input("b", b);
        c.Model.AddNode("MatMul", ["a", "b"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    public static TheoryData<string, int[], int[], bool> BinaryCases()
    {
        var data = new TheoryData<string, int[], int[], bool>();
        foreach (string op in new[] { "Add", "Sub", "Mul", "Div", "Max", "Min" })
        {
            data.Add(op, [3, 4], [3, 4], false);
            data.Add(op, [2, 3, 4], [4], true);
            data.Add(op, [2, 3, 4], [3, 1], false);
            data.Add(op, [2, 1, 4], [3, 1], false);
            data.Add(op, [1], [2, 5], true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void Binary(string op, int[] a, int[] b, bool bIsWeight)
    {
        var c = new OperatorCase { AvoidZero = true }.Input("a", a).Output("y");
        if (bIsWeight) c.Weight("b", b);
        else c.Input("b", b);
        c.Model.AddNode(op, ["a", "b"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("Relu")]
    [InlineData("Sigmoid")]
    [InlineData("Tanh")]
    [InlineData("Erf")]
    [InlineData("Exp")]
    [InlineData("Neg")]
    [InlineData("Abs")]
    [InlineData("Reciprocal")]
    [InlineData("Elu")]
    [InlineData("Selu")]
    [InlineData("Softplus")]
    [InlineData("Softsign")]
    [InlineData("Floor")]
    [InlineData("Ceil")]
    [InlineData("Round")]
    [InlineData("Sign")]
    [InlineData("Sin")]
    [InlineData("Cos")]
    public void Unary(string op)
    {
        var c = new OperatorCase { AvoidZero = true }.Input("x", 3, 7, 11).Output("y");
        c.Model.AddNode(op, ["x"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("Sqrt")]
    [InlineData("Log")]
    public void Sqrt_and_Log_of_a_run_time_tensor(string op)
    {
        var c = new OperatorCase { AvoidZero = true }.Input("x", 3, 7, 11).Output("y");
        c.Model.AddNode("Abs", ["x"], ["a"]);
        c.Model.AddNode(op, ["a"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("Elu", 0.5f, 0f)]
    [InlineData("Selu", 1.5f, 2f)]
    public void Elu_and_Selu_with_their_attributes(string op, float alpha, float gamma)
    {
        var c = new OperatorCase().Input("x", 3, 7, 11).Output("y");
        if (op == "Elu") c.Model.AddNode(op, ["x"], ["y"], ("alpha", alpha));
        else c.Model.AddNode(op, ["x"], ["y"], ("alpha", alpha), ("gamma", gamma));
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Mish_at_opset_18()
    {
        var c = new OperatorCase().Input("x", 3, 7, 11).Output("y");
        c.Model.Opset = 18;
        c.Model.AddNode("Mish", ["x"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>Gelu at opset 20, as torch writes nn.GELU from then on: exact (the default), and its tanh approximation.</summary>
    [Theory]
    [InlineData(null)]
    [InlineData("none")]
    [InlineData("tanh")]
    public void Gelu_at_opset_20(string? approximate)
    {
        var c = new OperatorCase().Input("x", 3, 7, 11).Output("y");
        c.Model.Opset = 20;
        c.Model.AddNode("Mul", ["x", "three"], ["wide"]);
        c.Model.AddInitializer("three", TensorValue.Scalar(3f));
        if (approximate is null) c.Model.AddNode("Gelu", ["wide"], ["y"]);
        else c.Model.AddNode("Gelu", ["wide"], ["y"], ("approximate", approximate));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// The tanh form in its negative tail, against the formula in float64: within 1e-5 relative of each value (written
    /// as 0.5·x·(1 + tanh(u)) in float32 it lost 3e-4 at x = −3.6, where ONNX Runtime loses as much).
    /// </summary>
    [Fact]
    public void Gelu_tanh_keeps_its_negative_tail()
    {
        var m = new OnnxModelBuilder { Opset = 20 };
        m.AddInput("x", OnnxDataType.Float, 8);
        m.AddNode("Gelu", ["x"], ["y"], ("approximate", "tanh"));
        m.AddOutput("y", OnnxDataType.Float);
        using var dir = new TempDirectory();
        string path = dir.File("gelu.onnx");
        m.Save(path);
        using var engine = EngineConverter.Convert(path, new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        float[] x = [-6f, -5.2f, -4.4f, -3.623f, -3f, -1f, 0.5f, 4f];
        float[] y = engine.Run(new Dictionary<string, float[]> { ["x"] = x })[0].Data;
        for (int i = 0; i < x.Length; i++)
        {
            double u = Math.Sqrt(2 / Math.PI) * (x[i] + 0.044715 * Math.Pow(x[i], 3)), expected = 0.5 * x[i] * (1 + Math.Tanh(u));
            Assert.True(Math.Abs(y[i] - expected) <= 1e-5 * Math.Abs(expected), $"x = {x[i]}: {y[i]} against {expected}");
        }
    }

    /// <summary>After a Linear layer at level 3, where the exact form fuses into the GEMM's epilogue.</summary>
    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void Gelu_after_a_gemm_at_opset_20(string approximate)
    {
        var c = new OperatorCase().Input("x", 4, 32).Output("y");
        c.Model.Opset = 20;
        c.Weight("w", 48, 32).Weight("b", 48);
        c.Model.AddNode("Gemm", ["x", "w", "b"], ["h"], ("transB", 1L));
        c.Model.AddNode("Gelu", ["h"], ["y"], ("approximate", approximate));
        c.AssertMatchesOnnxRuntime(optimizationLevel: 3);
    }

    [Theory]
    [InlineData("tensor")]
    [InlineData("float constant")]
    [InlineData("integer constant")]
    public void Pow_of_positive_bases(string exponent)
    {
        var c = new OperatorCase { AvoidZero = true }.Input("x", 2, 3, 4).Output("y");
        c.Model.Opset = 13;
        c.Model.AddNode("Abs", ["x"], ["a"]);
        if (exponent == "tensor") c.Input("e", 3, 4);
        else if (exponent == "float constant") c.Model.AddInitializer("e", TensorValue.Scalar(3f));
        else c.Model.AddInitializer("e", TensorValue.Int64([2], 1));
        c.Model.AddNode("Pow", ["a", "e"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("Max", 1)]
    [InlineData("Max", 3)]
    [InlineData("Min", 3)]
    public void Max_and_Min_of_several_inputs_broadcast_together(string op, int count)
    {
        var c = new OperatorCase().Input("a", 2, 3, 4).Input("b", 3, 1).Weight("w", 4).Output("y");
        c.Model.AddNode("Relu", ["a"], ["r"]);
        c.Model.AddNode(op, new[] { "r", "b", "w" }[..count], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>x.var(dim=(2, 3), keepdim=True) as torch exports it: the count of reduced elements a ReduceProd of two dims, folded at import.</summary>
    [Theory]
    [InlineData(13)]
    [InlineData(18)]
    public void Unbiased_variance_as_torch_exports_it(int opset)
    {
        var c = new OperatorCase().BatchedInput("x", 2, 3, 4, 5).Output("y");
        c.Model.Opset = opset;
        var axes = ("axes", (object)new long[] { 2, 3 });
        if (opset >= 18) c.Model.AddInitializer("axes", new long[] { 2, 3 }, [2]);
        string[] Reduced(string x) => opset >= 18 ? [x, "axes"] : [x];
        void Reduce(string op, string x, string y) => c.Model.AddNode(op, Reduced(x), [y], opset >= 18 ? [("keepdims", 1L)] : [axes, ("keepdims", 1L)]);
        Reduce("ReduceMean", "x", "mean");
        c.Model.AddNode("Sub", ["x", "mean"], ["d"]);
        c.Model.AddNode("Mul", ["d", "d"], ["sq"]);
        Reduce("ReduceMean", "sq", "ms");
        c.Model.AddNode("Shape", ["x"], ["s"]);
        c.Model.AddInitializer("spatial", new long[] { 2, 3 }, [2]);
        c.Model.AddNode("Gather", ["s", "spatial"], ["hw"]);
        c.Model.AddNode("ReduceProd", ["hw"], ["n"], ("keepdims", 0L));
        c.Model.AddNode("Cast", ["n"], ["nf"], ("to", (long)OnnxDataType.Float));
        c.Model.AddNode("Mul", ["ms", "nf"], ["total"]);
        c.Model.AddInitializer("one", TensorValue.Scalar(1f));
        c.Model.AddNode("Sub", ["nf", "one"], ["dof"]);
        c.Model.AddNode("Div", ["total", "dof"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void LayerNormalization_as_exports_before_opset_17_write_it()
    {
        // (x − mean) / √(var + ε) · γ + β over the last axis, in ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul and Add.
        var c = new OperatorCase().Input("x", 2, 5, 8).Weight("gamma", 8).Weight("beta", 8).Output("y");
        c.Model.Opset = 14;
        c.Model.AddNode("ReduceMean", ["x"], ["mean"], ("axes", new long[] { -1 }));
        c.Model.AddNode("Sub", ["x", "mean"], ["d"]);
        c.Model.AddInitializer("two", TensorValue.Scalar(2f));
        c.Model.AddNode("Pow", ["d", "two"], ["sq"]);
        c.Model.AddNode("ReduceMean", ["sq"], ["var"], ("axes", new long[] { -1 }));
        c.Model.AddInitializer("eps", TensorValue.Scalar(1e-5f));
        c.Model.AddNode("Add", ["var", "eps"], ["ve"]);
        c.Model.AddNode("Sqrt", ["ve"], ["std"]);
        c.Model.AddNode("Div", ["d", "std"], ["n"]);
        c.Model.AddNode("Mul", ["n", "gamma"], ["g"]);
        c.Model.AddNode("Add", ["g", "beta"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(13, -1)]
    [InlineData(13, 1)]
    [InlineData(13, 0)]
    [InlineData(11, 1)]
    [InlineData(11, -1)]
    public void Softmax(int opset, int axis)
    {
        var c = new OperatorCase().Input("x", 2, 5, 7).Output("y");
        c.Model.Opset = opset;
        c.Model.AddNode("Softmax", ["x"], ["y"], ("axis", (long)axis));
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// 64K values or more, which the worker threads share: attention's rows (three heads of 197 queries), an inner axis
    /// whose last group of eight columns is partial, and opset 11's rows flattened from the axis on.
    /// </summary>
    [Theory]
    [InlineData(13, -1, new[] { 1, 3, 197, 197 })]
    [InlineData(13, 1, new[] { 2, 300, 130 })]
    [InlineData(11, 1, new[] { 4, 50, 400 })]
    public void Softmax_shared_by_the_worker_threads(int opset, int axis, int[] shape)
    {
        var c = new OperatorCase().Input("x", shape).Output("y");
        c.Model.Opset = opset;
        c.Model.AddNode("Softmax", ["x"], ["y"], ("axis", (long)axis));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(13, -1)]
    [InlineData(13, 1)]
    [InlineData(11, 1)]
    [InlineData(11, -1)]
    public void LogSoftmax(int opset, int axis)
    {
        var c = new OperatorCase().Input("x", 2, 5, 7).Output("y");
        c.Model.Opset = opset;
        // Logits 200 apart: the softmax of the smaller underflows to 0, its logarithm stays finite.
        c.Model.AddInitializer("spread", TensorValue.Scalar(100f));
        c.Model.AddNode("Mul", ["x", "spread"], ["wide"]);
        c.Model.AddNode("LogSoftmax", ["wide"], ["y"], ("axis", (long)axis));
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("Sum")]
    [InlineData("Mean")]
    public void Sum_and_Mean_of_several_inputs_broadcast_together(string op)
    {
        var c = new OperatorCase().Input("a", 2, 3, 4).Input("b", 3, 1).Weight("w", 4).Output("y");
        c.Model.AddNode(op, ["a", "b", "w"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(-1)]
    public void Flatten(int axis)
    {
        var c = new OperatorCase().Input("x", 2, 3, 4).Output("y");
        c.Model.AddNode("Flatten", ["x"], ["f"], ("axis", (long)axis));
        c.Model.AddNode("Relu", ["f"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(new long[] { 0, -1 })]
    [InlineData(new long[] { 6, 4 })]
    [InlineData(new long[] { -1 })]
    [InlineData(new long[] { 0, 0, 2, 2 })]
    public void Reshape(long[] shape)
    {
        var c = new OperatorCase().Input("x", 2, 3, 4).Output("y");
        c.Model.AddInitializer("shape", shape, [shape.Length]);
        c.Model.AddNode("Reshape", ["x", "shape"], ["r"]);
        c.Model.AddNode("Sigmoid", ["r"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void Identity_and_Constant()
    {
        var c = new OperatorCase().Input("x", 4, 5).Output("y");
        c.Model.AddNode("Constant", [], ["k"], ("value", Testing.Onnx.TensorValue.Float([0.5f, -2f, 3f, 1.25f, -0.75f], 5)));
        c.Model.AddNode("Identity", ["x"], ["i"]);
        c.Model.AddNode("Mul", ["i", "k"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData(11, false)]
    [InlineData(11, true)]
    [InlineData(13, false)]
    [InlineData(13, true)]
    public void Dropout_passes_its_input_through_at_inference(int opset, bool mask)
    {
        // As exporters leave it (opset 11: ratio attribute; 13: ratio and training_mode = false inputs), the mask
        // output named but read by nothing.
        var c = new OperatorCase().Input("x", 2, 3, 4).Output("y");
        c.Model.Opset = opset;
        c.Model.AddNode("Relu", ["x"], ["r"]);
        string[] outputs = mask ? ["d", "mask"] : ["d"];
        if (opset >= 12)
        {
            c.Model.AddInitializer("ratio", TensorValue.Scalar(0.3f));
            c.Model.AddInitializer("training", TensorValue.Bool([false]));
            c.Model.AddNode("Dropout", ["r", "ratio", "training"], outputs);
        }
        else c.Model.AddNode("Dropout", ["r"], outputs, ("ratio", 0.3f));
        c.Model.AddNode("Sigmoid", ["d"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Theory]
    [InlineData("training")]
    [InlineData("run-time training")]
    [InlineData("mask read")]
    public void Dropout_in_training_mode_or_with_its_mask_read_is_refused(string what)
    {
        var m = new OnnxModelBuilder { Opset = 13 };
        m.AddInput("x", OnnxDataType.Float, 2, 3);
        if (what == "run-time training")
        {
            m.AddNode("Shape", ["x"], ["s"]);
            m.AddInitializer("zero", TensorValue.Int64([0], 1));
            m.AddNode("Gather", ["s", "zero"], ["n"]);
            m.AddNode("Cast", ["n"], ["training"], ("to", (long)OnnxDataType.Bool));
        }
        else m.AddInitializer("training", TensorValue.Bool([what == "training"]));
        m.AddNode("Dropout", ["x", "", "training"], ["y", "mask"]);
        m.AddOutput("y", OnnxDataType.Float);
        if (what == "mask read") m.AddOutput("mask", OnnxDataType.Bool);
        var refused = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m"));
        Assert.Contains(what == "mask read" ? "mask output 'mask' is used" : "training mode", refused.Message);
    }
}
