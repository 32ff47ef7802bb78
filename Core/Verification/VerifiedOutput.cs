namespace TrtEngine.Core.Verification;

/// <summary>One engine output checked against the reference: its shape and relative L2 error (‖engine − reference‖ / ‖reference‖).</summary>
public sealed record VerifiedOutput(string Name, int[] Shape, double RelativeL2);
