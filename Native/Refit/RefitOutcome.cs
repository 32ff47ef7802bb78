namespace TrtEngine.Native.Refit;

/// <summary>
/// What a refit did: the engine weights it re-derived (every other one was shared with the previous state) and the
/// model weights whose values changed (bit for bit), in the model's order; supplied weights not listed were identical
/// and cost nothing.
/// </summary>
public sealed record RefitOutcome(IReadOnlyList<string> RecomputedWeights, IReadOnlyList<string> ChangedModelWeights);
