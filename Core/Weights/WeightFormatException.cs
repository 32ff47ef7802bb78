namespace TrtEngine.Core.Weights;

/// <summary>A weights file that cannot be read: the message names the file, the tensor and the problem.</summary>
public sealed class WeightFormatException : Exception
{
    public WeightFormatException(string message) : base(message)
    {
    }

    public WeightFormatException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
