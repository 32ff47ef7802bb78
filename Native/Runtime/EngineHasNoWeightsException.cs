namespace TrtEngine.Native.Runtime;

/// <summary>A weight-stripped engine was asked to run: it refuses instead of returning zeros.</summary>
public sealed class EngineHasNoWeightsException(string engineName)
    : InvalidOperationException($"Engine '{engineName}' has no weights: it was loaded weight-stripped. Refit it with the model's weights (Update-TrtEngineWeights -Path <model.onnx, weights.safetensors or checkpoint.pt>) before running it.");
