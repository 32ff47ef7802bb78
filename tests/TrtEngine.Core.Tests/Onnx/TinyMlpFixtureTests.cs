using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TrtEngine.Core.Weights;

namespace TrtEngine.Core.Tests.Onnx;

/// <summary>Checks that the written example model is valid ONNX: ONNX Runtime runs it and agrees with a direct computation.</summary>
public class TinyMlpFixtureTests
{
    [Fact]
    public void OnnxRuntimeRunsTheExampleAndMatchesADirectComputation()
    {
        var directory = TestPaths.ExampleModels;
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "tiny_mlp.input.json")));
        var input = json.RootElement.GetProperty("input").GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var weights = SafetensorsFile.Load(Path.Combine(directory, "tiny_mlp.ckpt1.safetensors")).Tensors;

        using var session = new InferenceSession(Path.Combine(directory, "tiny_mlp.onnx"));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(input, [2, 64]))]);
        var logits = results.Single(r => r.Name == "logits").AsTensor<float>();

        Assert.Equal([2, 10], logits.Dimensions.ToArray());
        var expected = Linear(Gelu(Linear(Relu(Linear(input, weights, "0")), weights, "2")), weights, "4");
        var actual = logits.ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4, $"logit {i}: expected {expected[i]}, ONNX Runtime gave {actual[i]}");
    }

    /// <summary>y = x W^T + b for a batch of rows.</summary>
    private static float[] Linear(float[] x, IReadOnlyDictionary<string, WeightTensor> weights, string layer)
    {
        var w = weights[$"{layer}.weight"];
        var b = weights[$"{layer}.bias"].Data;
        int outputs = w.Shape[0], inputs = w.Shape[1], rows = x.Length / inputs;
        var y = new float[rows * outputs];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outputs; o++)
            {
                double sum = b[o];
                for (int i = 0; i < inputs; i++)
                    sum += (double)x[r * inputs + i] * w.Data[o * inputs + i];
                y[r * outputs + o] = (float)sum;
            }
        }
        return y;
    }

    private static float[] Relu(float[] x) => x.Select(v => Math.Max(v, 0f)).ToArray();

    private static float[] Gelu(float[] x) => x.Select(v => (float)(0.5 * v * (1 + Erf(v / Math.Sqrt(2))))).ToArray();

    /// <summary>Abramowitz and Stegun 7.1.26; its error below 1.5e-7 is far inside the test tolerance.</summary>
    private static double Erf(double x)
    {
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double polynomial = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        double magnitude = 1 - polynomial * Math.Exp(-x * x);
        return x < 0 ? -magnitude : magnitude;
    }
}
