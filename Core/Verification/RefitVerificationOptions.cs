namespace TrtEngine.Core.Verification;

/// <summary>What a verified refit runs: inputs (or generated ones), the tolerance, and the model to take the structure from.</summary>
public sealed class RefitVerificationOptions
{
    public const double DefaultTolerance = 1e-4;

    /// <summary>Input values by name, as for a run; null generates seeded random inputs at every input's opt shape.</summary>
    public IReadOnlyDictionary<string, float[]>? Inputs { get; init; }

    /// <summary>Shapes of given inputs; each one not given is inferred from its value count as a run does.</summary>
    public IReadOnlyDictionary<string, int[]>? InputShapes { get; init; }

    /// <summary>The largest relative L2 error accepted on any output: 0 or more.</summary>
    public double Tolerance
    {
        get => _tolerance;
        // A negative or NaN tolerance fails every verification, and the failure would blame the weights.
        init => _tolerance = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(Tolerance), value, "The tolerance is a relative L2 error: 0 or more (not NaN).");
    }

    private readonly double _tolerance = DefaultTolerance;

    public int Seed { get; init; }

    /// <summary>The ONNX model whose structure the reference runs; null takes the engine's own model.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Stops the verification, and with it the refit (the engine keeps its weights), with OperationCanceledException.</summary>
    public CancellationToken Cancel { get; init; }
}
