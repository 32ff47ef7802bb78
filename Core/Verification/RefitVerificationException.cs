using System.Globalization;

namespace TrtEngine.Core.Verification;

/// <summary>
/// A refit whose engine did not match the reference within the tolerance; the engine kept its previous weights. Numbers
/// are written the same in every culture, as the module's other messages write them.
/// </summary>
public sealed class RefitVerificationException(RefitVerification verification) : Exception(
    $"Refit of engine '{verification.EngineName}' failed verification, so the engine keeps its previous weights: " +
    string.Join("; ", verification.Outputs.Where(o => !(o.RelativeL2 <= verification.Tolerance))
        .Select(o => string.Create(CultureInfo.InvariantCulture, $"output '{o.Name}' has relative L2 error {o.RelativeL2:E2}"))) +
    string.Create(CultureInfo.InvariantCulture, $", above the tolerance {verification.Tolerance:E1}. Check the weights, or raise -Tolerance if this error is expected."))
{
    public RefitVerification Verification { get; } = verification;
}
