namespace TrtEngine.Core.Tensors;

/// <summary>A .npy file that is malformed or holds something a float32 tensor cannot represent; the message says which and what to do.</summary>
public sealed class NpyFormatException : Exception
{
    public NpyFormatException(string message, string? path = null)
        : base(path is null ? message : $"{path}: {message}")
    {
        FilePath = path;
    }

    public string? FilePath { get; }
}
