namespace TrtEngine.Core.Verification;

/// <summary>A verified refit that cannot build its reference (no model to take the structure from, or weights the engine does not know).</summary>
public sealed class VerificationUnavailableException(string message) : Exception(message);
