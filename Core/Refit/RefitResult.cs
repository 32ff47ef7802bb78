using TrtEngine.Core.Verification;
using TrtEngine.Native.Refit;

namespace TrtEngine.Core.Refit;

/// <summary>
/// What a refit did: how many model weights it took and how many engine weights it recomputed. Not how long it took:
/// reading the clock twice (about 60 ns a read on this project's VM) was a fortieth of a small model's refit, and
/// whoever reports the time measures around the call.
/// </summary>
public sealed record RefitResult(string EngineName, int ModelWeights, int EngineWeightsRecomputed)
{
    /// <summary>What the refitter reports, named when first read.</summary>
    internal RefitOutcome? Outcome { get; init; }

    /// <summary>The engine weights re-derived; every other one was shared, unchanged, with the previous weights.</summary>
    public IReadOnlyList<string> RecomputedWeights => Outcome?.RecomputedWeights ?? [];

    /// <summary>The supplied model weights whose values differed from the engine's; the others cost nothing.</summary>
    public IReadOnlyList<string> ChangedModelWeights => Outcome?.ChangedModelWeights ?? [];

    /// <summary>The comparison with the reference execution when the refit was verified; null otherwise.</summary>
    public RefitVerification? Verification { get; init; }
}
