namespace TrtEngine.Native.Refit;

/// <summary>A refit that was refused before any weight changed; Check lists every problem.</summary>
public sealed class RefitException(string engineName, RefitCheck check)
    : Exception($"Refit of engine '{engineName}' refused; nothing was changed. {check.Describe()}.")
{
    public RefitCheck Check { get; } = check;
}
