namespace TrtEngine.Core.Conversion;

/// <summary>What a conversion tells its caller as it goes (the cmdlets turn these into -Verbose, warnings and progress).</summary>
public interface IConversionEvents
{
    void Verbose(string message);
    void Warning(string message);
    void Progress(ConversionProgress progress);
}
