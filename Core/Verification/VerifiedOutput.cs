using System.Globalization;

namespace TrtEngine.Core.Verification;

/// <summary>One engine output checked against the reference: its shape and relative L2 error (‖engine − reference‖ / ‖reference‖).</summary>
public sealed record VerifiedOutput(string Name, int[] Shape, double RelativeL2)
{
    /// <summary>As the views show it ("logits 1.7E-007"), where a list prints the outputs as they are.</summary>
    public override string ToString() => $"{Name} {RelativeL2.ToString("E1", CultureInfo.InvariantCulture)}";
}
