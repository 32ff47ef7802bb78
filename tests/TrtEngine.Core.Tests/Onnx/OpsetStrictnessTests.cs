using TrtEngine.Core.Onnx;
using TrtEngine.Native.Builder;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Onnx;

/// <summary>
/// A node is read as its operator's version at the model's opset defines it. Attributes and inputs of another version
/// (Clip's min attribute at opset 17, where min is an input; Unsqueeze's axes attribute at opset 13), attributes no
/// version has, operators the opset does not have yet or any more, and legacy versions were ignored or, worse, read:
/// the engine ran models ONNX Runtime refuses, some of them differently from what their opset says. Each is refused,
/// naming the node, what does not fit and the opset; the same nodes at the opset they belong to still match ONNX Runtime.
/// </summary>
public sealed class OpsetStrictnessTests
{
    private static float[] Random(int n, int seed = 3) => ErrorMetrics.RandomValues(seed, n);

    private static (OnnxModelBuilder Model, int[] Shape) Case(string which)
    {
        var m = new OnnxModelBuilder();
        int[] shape = [2, 3];
        void Image() => shape = [1, 2, 5, 5];
        void Scalars(params (string Name, float Value)[] values) { foreach (var (n, v) in values) m.AddInitializer(n, [v], []); }
        void Norm() { foreach (var n in new[] { "s", "b", "mu" }) m.AddInitializer(n, Random(2, n.Length), [2]); m.AddInitializer("v", [0.5f, 2f], [2]); }
        switch (which)
        {
            case "Clip min attribute at 17": m.AddNode("Clip", ["x"], ["y"], ("min", -0.2f), ("max", 0.3f)); break;
            case "Clip min attribute at 10": m.Opset = 10; m.AddNode("Clip", ["x"], ["y"], ("min", -0.2f), ("max", 0.3f)); break;
            case "Clip bound inputs at 10": m.Opset = 10; Scalars(("lo", -0.2f), ("hi", 0.3f)); m.AddNode("Clip", ["x", "lo", "hi"], ["y"]); break;
            case "Clip bound inputs at 11": m.Opset = 11; Scalars(("lo", -0.2f), ("hi", 0.3f)); m.AddNode("Clip", ["x", "lo", "hi"], ["y"]); break;
            case "Gemm broadcast at 13":
            case "Gemm without C at 9":
            case "Gemm without C at 11":
                m.Opset = which.EndsWith("13") ? 13 : which.EndsWith("11") ? 11 : 9;
                m.AddInitializer("w", Random(12), [3, 4]);
                m.AddInitializer("c", Random(4, 4), [4]);
                if (which.Contains("broadcast")) m.AddNode("Gemm", ["x", "w", "c"], ["y"], ("broadcast", 1));
                else m.AddNode("Gemm", ["x", "w"], ["y"]);
                break;
            case "Add at opset 6": m.Opset = 6; m.AddInitializer("b", Random(3), [3]); m.AddNode("Add", ["x", "b"], ["y"]); break;
            case "Relu at opset 5": m.Opset = 5; m.AddNode("Relu", ["x"], ["y"]); break;
            case "Relu unknown attribute": m.AddNode("Relu", ["x"], ["y"], ("alpha", 0.5f)); break;
            case "HardSwish at 13": m.Opset = 13; m.AddNode("HardSwish", ["x"], ["y"]); break;
            case "Erf at 8": m.Opset = 8; m.AddNode("Erf", ["x"], ["y"]); break;
            case "Concat without axis": m.AddNode("Concat", ["x", "x"], ["y"]); break;
            case "Unsqueeze axes attribute at 13": m.Opset = 13; m.AddNode("Unsqueeze", ["x"], ["y"], ("axes", new long[] { 0 })); break;
            case "Unsqueeze axes input at 11":
            case "Unsqueeze axes input at 13":
                m.Opset = which.EndsWith("11") ? 11 : 13;
                m.AddInitializer("a", new long[] { 0 }, [1]);
                m.AddNode("Unsqueeze", ["x", "a"], ["y"]);
                break;
            case "Squeeze axes attribute at 13": m.Opset = 13; shape = [2, 1, 3]; m.AddNode("Squeeze", ["x"], ["y"], ("axes", new long[] { 1 })); break;
            case "ReduceMean axes input at 13": m.Opset = 13; m.AddInitializer("a", new long[] { 1 }, [1]); m.AddNode("ReduceMean", ["x", "a"], ["y"]); break;
            case "ReduceMean noop_with_empty_axes at 13": m.Opset = 13; m.AddNode("ReduceMean", ["x"], ["y"], ("noop_with_empty_axes", 1)); break;
            case "ReduceSum axes attribute at 13": m.Opset = 13; m.AddNode("ReduceSum", ["x"], ["y"], ("axes", new long[] { 1 })); break;
            case "Split split attribute at 13":
            case "Split split attribute at 11":
                m.Opset = which.EndsWith("13") ? 13 : 11;
                shape = [6, 2];
                m.AddNode("Split", ["x"], ["y", "z"], ("split", new long[] { 2, 4 }));
                m.AddOutput("z", OnnxDataType.Float);
                break;
            case "Split num_outputs at 13": m.Opset = 13; shape = [5, 2]; m.AddNode("Split", ["x"], ["y", "z"], ("num_outputs", 2)); m.AddOutput("z", OnnxDataType.Float); break;
            case "MaxPool ceil_mode at 9":
            case "MaxPool ceil_mode at 10":
                m.Opset = which.EndsWith("10") ? 10 : 9;
                Image();
                m.AddNode("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }), ("ceil_mode", 1));
                break;
            case "AveragePool dilations at 18":
            case "AveragePool dilations at 19":
                m.Opset = which.EndsWith("18") ? 18 : 19;
                Image();
                m.AddNode("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("dilations", new long[] { 2, 2 }));
                break;
            case "BatchNormalization spatial at 9": m.Opset = 9; Image(); Norm(); m.AddNode("BatchNormalization", ["x", "s", "b", "mu", "v"], ["y"], ("spatial", 0)); break;
            case "BatchNormalization training_mode at 13": m.Opset = 13; Image(); Norm(); m.AddNode("BatchNormalization", ["x", "s", "b", "mu", "v"], ["y"], ("training_mode", 1)); break;
            case "Pad axes input at 13":
                m.Opset = 13;
                Image();
                m.AddInitializer("p", new long[] { 1, 1 }, [2]);
                Scalars(("c", 0f));
                m.AddInitializer("a", new long[] { 2 }, [1]);
                m.AddNode("Pad", ["x", "p", "c", "a"], ["y"]);
                break;
            case "Pad value attribute at 13":
                m.Opset = 13;
                Image();
                m.AddInitializer("p", new long[] { 0, 0, 1, 1, 0, 0, 1, 1 }, [8]);
                m.AddNode("Pad", ["x", "p"], ["y"], ("value", 2f));
                break;
            case "Resize axes attribute at 13": m.Opset = 13; Image(); m.AddInitializer("k", [2f, 2f], [2]); m.AddNode("Resize", ["x", "", "k"], ["y"], ("axes", new long[] { 2, 3 })); break;
            case "Resize without roi at 11": m.Opset = 11; Image(); m.AddInitializer("k", [1f, 1f, 2f, 2f], [4]); m.AddNode("Resize", ["x", "", "k"], ["y"]); break;
            case "Resize at 9": m.Opset = 9; Image(); m.AddInitializer("k", [1f, 1f, 2f, 2f], [4]); m.AddNode("Resize", ["x", "k"], ["y"]); break;
            case "Upsample at 10": m.Opset = 10; Image(); m.AddInitializer("k", [1f, 1f, 2f, 2f], [4]); m.AddNode("Upsample", ["x", "k"], ["y"]); break;
            case "Shape start at 13":
            case "Shape start at 15":
                m.Opset = which.EndsWith("13") ? 13 : 15;
                shape = [2, 3, 4];
                m.AddNode("Shape", ["x"], ["s"], ("start", 1));
                m.AddInitializer("m1", new long[] { -1 }, [1]);
                m.AddNode("Concat", ["m1", "s"], ["t"], ("axis", 0));
                m.AddNode("Reshape", ["x", "t"], ["y"]);
                break;
            case "MaxPool storage_order of type FLOAT": Image(); m.AddNode("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("storage_order", 0f)); break;
            case "Opset 27": m.Opset = 27; m.AddNode("Relu", ["x"], ["y"]); break;
            default: throw new ArgumentException(which);
        }
        m.AddInput("x", OnnxDataType.Float, [.. shape.Cast<object?>()]);
        m.AddOutput("y", OnnxDataType.Float);
        return (m, shape);
    }

    /// <summary>Each case, the words its refusal must hold besides the node's name.</summary>
    public static TheoryData<string, string[]> RefusedCases => new()
    {
        { "Clip min attribute at 17", ["attribute 'min'", "opset 17", "opsets 1–10"] },
        { "Clip bound inputs at 10", ["3 inputs", "opset 10"] },
        { "Gemm broadcast at 13", ["attribute 'broadcast'", "opset 13"] },
        { "Gemm without C at 9", ["2 inputs", "opset 9", "from opset 11 on"] },
        { "Add at opset 6", ["opset 6", "broadcasting by 'broadcast' and 'axis'"] },
        { "Relu at opset 5", ["opset 5", "consumed_inputs"] },
        { "Relu unknown attribute", ["attribute 'alpha'", "opset 17"] },
        { "HardSwish at 13", ["does not exist at opset 13", "opset 14"] },
        { "Erf at 8", ["does not exist at opset 8"] },
        { "Concat without axis", ["attribute 'axis'", "requires at opset 17"] },
        { "Unsqueeze axes attribute at 13", ["1 input", "opset 13"] },
        { "Unsqueeze axes input at 11", ["2 inputs", "opset 11"] },
        { "Squeeze axes attribute at 13", ["attribute 'axes'", "opset 13"] },
        { "ReduceMean axes input at 13", ["2 inputs", "opset 13", "from opset 18 on"] },
        { "ReduceMean noop_with_empty_axes at 13", ["attribute 'noop_with_empty_axes'", "opset 13"] },
        { "ReduceSum axes attribute at 13", ["attribute 'axes'", "opset 13"] },
        { "Split split attribute at 13", ["attribute 'split'", "opset 13"] },
        { "Split num_outputs at 13", ["attribute 'num_outputs'", "opset 13", "from opset 18 on"] },
        { "MaxPool ceil_mode at 9", ["attribute 'ceil_mode'", "opset 9"] },
        { "AveragePool dilations at 18", ["attribute 'dilations'", "opset 18", "from opset 19 on"] },
        { "BatchNormalization spatial at 9", ["attribute 'spatial'", "opset 9"] },
        { "BatchNormalization training_mode at 13", ["attribute 'training_mode'", "opset 13"] },
        { "Pad axes input at 13", ["4 inputs", "opset 13"] },
        { "Pad value attribute at 13", ["attribute 'value'", "opset 13"] },
        { "Resize axes attribute at 13", ["attribute 'axes'", "opset 13"] },
        { "Resize without roi at 11", ["input 1 is empty", "opset 11"] },
        { "Resize at 9", ["does not exist at opset 9"] },
        { "Upsample at 10", ["deprecated", "opset 10"] },
        { "Shape start at 13", ["attribute 'start'", "opset 13"] },
        { "MaxPool storage_order of type FLOAT", ["'storage_order' is Float", "opset 17"] },
        { "Opset 27", ["opset 27", "up to opset 26"] },
    };

    [Theory]
    [MemberData(nameof(RefusedCases))]
    public void A_node_that_does_not_fit_its_operator_s_version_at_the_model_s_opset_is_refused_as_ONNX_Runtime_refuses_it(string which, string[] words)
    {
        var (model, shape) = Case(which);
        byte[] bytes = model.ToBytes();
        Assert.ThrowsAny<Exception>(() => OrtOracle.Run(bytes, new Dictionary<string, (int[] Shape, float[] Data)> { ["x"] = (shape, Random(shape.Aggregate(1, (a, d) => a * d))) }));
        var error = Assert.Throws<ModelImportException>(() => OnnxImporter.Import(OnnxModel.Parse(bytes, null), "m"));
        if (which != "Opset 27") Assert.Contains($"'{which.Split(' ')[0]}_", error.Message, StringComparison.Ordinal);
        foreach (string word in words) Assert.Contains(word, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The same operators at the opsets whose versions have those attributes and inputs.</summary>
    [Theory]
    [InlineData("Clip min attribute at 10")]
    [InlineData("Clip bound inputs at 11")]
    [InlineData("Gemm without C at 11")]
    [InlineData("Unsqueeze axes input at 13")]
    [InlineData("Split split attribute at 11")]
    [InlineData("MaxPool ceil_mode at 10")]
    [InlineData("AveragePool dilations at 19")]
    [InlineData("Shape start at 15")]
    public void The_same_nodes_at_the_opset_they_belong_to_match_ONNX_Runtime(string which)
    {
        var (model, shape) = Case(which);
        byte[] bytes = model.ToBytes();
        var x = Random(shape.Aggregate(1, (a, d) => a * d), 9);
        var expected = OrtOracle.Run(bytes, new Dictionary<string, (int[] Shape, float[] Data)> { ["x"] = (shape, x) });
        var engine = EngineBuilder.Build(OnnxImporter.Import(OnnxModel.Parse(bytes, null), "m"), new BuilderConfig());
        var context = engine.CreateExecutionContext();
        context.SetInputShape(0, shape);
        for (int i = 0; i < engine.Plan.Outputs.Length; i++)
        {
            var (expectedShape, data) = expected[engine.Plan.OutputName(i)];
            Assert.Equal(expectedShape, context.GetOutputShape(i));
        }
        float[][] outputs = engine.Plan.Outputs.Select((_, i) => new float[context.GetOutputShape(i).Aggregate(1L, (a, d) => a * d)]).ToArray();
        context.Execute([x], outputs);
        for (int i = 0; i < outputs.Length; i++)
            Assert.True(ErrorMetrics.RelativeL2(outputs[i], expected[engine.Plan.OutputName(i)].Data) <= 1e-6, which);
    }
}
