namespace TrtEngine.Core.Onnx;

/// <summary>A model that parses but cannot be converted: an unsupported use of a supported operator, a missing input, a type it cannot run.</summary>
public sealed class ModelImportException(string message, Exception? inner = null) : Exception(message, inner);
