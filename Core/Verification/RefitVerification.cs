using System.Globalization;

namespace TrtEngine.Core.Verification;

/// <summary>
/// How a refitted engine compared with the reference execution of its model with the new weights (no fusion,
/// float64): the relative L2 error of every output, the tolerance, and which inputs were used.
/// </summary>
public sealed class RefitVerification
{
    public required string EngineName { get; init; }
    public required double Tolerance { get; init; }
    public required IReadOnlyList<VerifiedOutput> Outputs { get; init; }

    /// <summary>True when the inputs were generated (seeded uniform values in [-1, 1) at each input's opt shape).</summary>
    public required bool GeneratedInputs { get; init; }

    /// <summary>The seed of generated inputs; null when the inputs were given.</summary>
    public int? Seed { get; init; }

    /// <summary>The largest error over the outputs; NaN when any output has a NaN error.</summary>
    public double MaxRelativeL2 => Outputs.Aggregate(0.0, (worst, o) => double.IsNaN(o.RelativeL2) || double.IsNaN(worst) ? double.NaN : Math.Max(worst, o.RelativeL2));

    /// <summary>Every output within the tolerance (a NaN error never passes).</summary>
    public bool Passed => Outputs.All(o => o.RelativeL2 <= Tolerance);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{EngineName}: {(Passed ? "passed" : "FAILED")}, max relative L2 {MaxRelativeL2:E2} (tolerance {Tolerance:E0}) over {Outputs.Count} output(s)");
}
