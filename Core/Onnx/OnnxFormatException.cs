namespace TrtEngine.Core.Onnx;

/// <summary>An ONNX file that cannot be read: the message says what is wrong and where.</summary>
public sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string message) : base(message)
    {
    }

    public OnnxFormatException(string message, string? filePath, Exception? innerException)
        : base(filePath is null ? message : $"{filePath}: {message}", innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The model file being read, when the model came from a file.</summary>
    public string? FilePath { get; }
}
