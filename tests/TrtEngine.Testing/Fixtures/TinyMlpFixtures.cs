using System.Text.Json;
using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Testing.Fixtures;

/// <summary>
/// The demo model in examples/models: a 64→128→96→10 MLP shaped like a PyTorch export of
/// Sequential(Linear, ReLU, Linear, GELU, Linear), with three seeded checkpoints and an input.
/// Everything is derived from fixed seeds, so the files are the same bytes on every run.
/// </summary>
public static class TinyMlpFixtures
{
    private static readonly (string Name, int Out, int In)[] Layers = [("0", 128, 64), ("2", 96, 128), ("4", 10, 96)];

    public static void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        BuildModel(Weights(seed: 1)).Save(Path.Combine(directory, "tiny_mlp.onnx"));
        for (int checkpoint = 1; checkpoint <= 3; checkpoint++)
        {
            SafetensorsWriter.Write(Path.Combine(directory, $"tiny_mlp.ckpt{checkpoint}.safetensors"),
                Weights(seed: checkpoint).Select(w => (w.Name, w.Shape, w.Data)));
        }
        WriteInput(Path.Combine(directory, "tiny_mlp.input.json"), seed: 100);
    }

    /// <summary>Weights and biases uniform in ±1/sqrt(fan_in), as torch.nn.Linear initialises them.</summary>
    private static List<(string Name, int[] Shape, float[] Data)> Weights(int seed)
    {
        var random = new Random(seed);
        var weights = new List<(string, int[], float[])>();
        foreach (var (name, outputs, inputs) in Layers)
        {
            float bound = 1f / MathF.Sqrt(inputs);
            weights.Add(($"{name}.weight", [outputs, inputs], Uniform(random, outputs * inputs, bound)));
            weights.Add(($"{name}.bias", [outputs], Uniform(random, outputs, bound)));
        }
        return weights;
    }

    private static OnnxModelBuilder BuildModel(List<(string Name, int[] Shape, float[] Data)> weights)
    {
        var model = new OnnxModelBuilder { ProducerName = "pytorch", ProducerVersion = "2.11.0" };
        model.AddInput("input", OnnxDataType.Float, "batch", 64);
        model.AddOutput("logits", OnnxDataType.Float, "batch", 10);
        foreach (var (name, shape, data) in weights)
            model.AddInitializer(name, data, shape.Select(d => (long)d).ToArray());

        Gemm(model, "/0/Gemm", "input", "0", "/0/Gemm_output_0");
        Node(model, "/1/Relu", "Relu", ["/0/Gemm_output_0"], "/1/Relu_output_0");
        Gemm(model, "/2/Gemm", "/1/Relu_output_0", "2", "/2/Gemm_output_0");

        // GELU as torch exports it: x * 0.5 * (1 + erf(x / sqrt(2))), applied as ((1 + erf) * x) * 0.5.
        Constant(model, "/3/Constant", MathF.Sqrt(2f));
        Node(model, "/3/Div", "Div", ["/2/Gemm_output_0", "/3/Constant_output_0"], "/3/Div_output_0");
        Node(model, "/3/Erf", "Erf", ["/3/Div_output_0"], "/3/Erf_output_0");
        Constant(model, "/3/Constant_1", 1f);
        Node(model, "/3/Add", "Add", ["/3/Erf_output_0", "/3/Constant_1_output_0"], "/3/Add_output_0");
        Node(model, "/3/Mul", "Mul", ["/2/Gemm_output_0", "/3/Add_output_0"], "/3/Mul_output_0");
        Constant(model, "/3/Constant_2", 0.5f);
        Node(model, "/3/Mul_1", "Mul", ["/3/Mul_output_0", "/3/Constant_2_output_0"], "/3/Mul_1_output_0");

        Gemm(model, "/4/Gemm", "/3/Mul_1_output_0", "4", "logits");
        return model;
    }

    private static void Gemm(OnnxModelBuilder model, string name, string input, string layer, string output) =>
        model.AddNode("Gemm", [input, $"{layer}.weight", $"{layer}.bias"], [output],
            ("alpha", 1f), ("beta", 1f), ("transB", 1)).Name = name;

    private static void Constant(OnnxModelBuilder model, string name, float value) =>
        model.AddNode("Constant", [], [$"{name}_output_0"], ("value", TensorValue.Scalar(value))).Name = name;

    private static void Node(OnnxModelBuilder model, string name, string opType, string[] inputs, string output) =>
        model.AddNode(opType, inputs, [output]).Name = name;

    private static void WriteInput(string path, int seed)
    {
        var data = Uniform(new Random(seed), 2 * 64, 1f);
        using var file = File.Create(path);
        using var json = new Utf8JsonWriter(file);
        json.WriteStartObject();
        json.WriteStartObject("input");
        json.WriteStartArray("shape");
        json.WriteNumberValue(2);
        json.WriteNumberValue(64);
        json.WriteEndArray();
        json.WriteStartArray("data");
        foreach (float value in data)
            json.WriteNumberValue(value);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Uniform in ±<paramref name="bound"/>, as torch initialises Linear and recurrent weights.</summary>
    internal static float[] Uniform(Random random, int count, float bound)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1) * bound;
        return values;
    }
}
