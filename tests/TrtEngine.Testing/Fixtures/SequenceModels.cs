using TrtEngine.Core.Onnx;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Testing.Fixtures;

/// <summary>
/// Recurrent models for the benchmark, shaped like a torch export of nn.LSTM or nn.GRU (one layer, batch_first) that
/// returns the last hidden state: input [batch, steps, features] → Transpose → LSTM or GRU (linear_before_reset, as
/// torch exports it) → Y_h squeezed to [batch, hidden]. Weights are uniform in ±1/√hidden, as torch initialises them,
/// from a seed per version, so the files are the same bytes on every run.
/// </summary>
public static class SequenceModels
{
    public const int Steps = 32, Features = 64, Hidden = 256;

    /// <summary>Writes the "lstm" or "gru" model with the weights of <paramref name="version"/> and returns its path.</summary>
    public static string Write(string directory, string name, int version)
    {
        bool lstm = name switch
        {
            "lstm" => true,
            "gru" => false,
            _ => throw new ArgumentException($"No sequence model '{name}': 'lstm' or 'gru'.", nameof(name)),
        };
        int gates = lstm ? 4 : 3;
        var model = new OnnxModelBuilder { ProducerName = "pytorch", ProducerVersion = "2.11.0", Opset = 17 };
        model.AddInput("input", OnnxDataType.Float, "batch", Steps, Features);
        model.AddOutput("hidden", OnnxDataType.Float, "batch", Hidden);
        var random = new Random(version);
        float bound = 1f / MathF.Sqrt(Hidden);
        model.AddInitializer($"{name}.W", TinyMlpFixtures.Uniform(random, gates * Hidden * Features, bound), [1, gates * Hidden, Features]);
        model.AddInitializer($"{name}.R", TinyMlpFixtures.Uniform(random, gates * Hidden * Hidden, bound), [1, gates * Hidden, Hidden]);
        model.AddInitializer($"{name}.B", TinyMlpFixtures.Uniform(random, 2 * gates * Hidden, bound), [1, 2 * gates * Hidden]);
        model.AddInitializer("axes", [0L], [1]);
        model.AddNode("Transpose", ["input"], ["steps_first"], ("perm", new long[] { 1, 0, 2 }));
        string op = lstm ? "LSTM" : "GRU";
        string[] outputs = lstm ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"];
        var attributes = new List<(string, object)> { ("hidden_size", (long)Hidden) };
        if (!lstm) attributes.Add(("linear_before_reset", 1L));
        model.AddNode(op, ["steps_first", $"{name}.W", $"{name}.R", $"{name}.B"], outputs, [.. attributes]);
        model.AddNode("Squeeze", ["Y_h", "axes"], ["hidden"]);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, $"{name}_v{version}.onnx");
        model.Save(path);
        return path;
    }
}
