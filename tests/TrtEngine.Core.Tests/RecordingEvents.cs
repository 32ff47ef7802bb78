using TrtEngine.Core.Conversion;

namespace TrtEngine.Core.Tests;

/// <summary>Keeps what a conversion says: every message, and the warnings apart.</summary>
internal sealed class RecordingEvents : IConversionEvents
{
    public List<string> Messages { get; } = [];
    public List<string> Warnings { get; } = [];

    public void Verbose(string message) => Messages.Add(message);

    public void Warning(string message)
    {
        Messages.Add(message);
        Warnings.Add(message);
    }

    public void Progress(ConversionProgress progress) { }
}
