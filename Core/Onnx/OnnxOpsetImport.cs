namespace TrtEngine.Core.Onnx;

/// <summary>One operator set the model uses: domain "" (or "ai.onnx") is the default ONNX domain.</summary>
public sealed record OnnxOpsetImport(string Domain, long Version);
