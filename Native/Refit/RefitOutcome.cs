using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Refit;

/// <summary>
/// What a refit did: the engine weights it re-derived (every other one was shared with the previous state) and the
/// model weights whose values changed (bit for bit), in the model's order; supplied weights not listed were identical
/// and cost nothing. The names are looked up when first read: a refit in a loop seldom reads them, and listing them
/// cost a small model's refit a twentieth of its time.
/// </summary>
public sealed class RefitOutcome
{
    private readonly EnginePlan _plan;
    private readonly List<int> _recomputed;
    private readonly bool[] _changed;
    private string[]? _recomputedNames, _changedNames;

    /// <param name="recomputed">Engine weight indices.</param>
    /// <param name="changed">By model weight index.</param>
    /// <param name="supplied">How many of the engine's model weights were given (but folded constants, which a refit cannot change).</param>
    internal RefitOutcome(EnginePlan plan, List<int> recomputed, bool[] changed, int supplied) =>
        (_plan, _recomputed, _changed, SuppliedCount) = (plan, recomputed, changed, supplied);

    /// <summary>
    /// How many of the engine's model weights the refit was given: not names it left out (integer tensors), nor folded
    /// constants (given as the engine holds them, or refused), as <see cref="RefitCheck.Changed"/> counts them.
    /// </summary>
    public int SuppliedCount { get; }

    /// <summary>How many engine weights were re-derived.</summary>
    public int RecomputedCount => _recomputed.Count;

    public IReadOnlyList<string> RecomputedWeights => _recomputedNames ??= _recomputed.Select(i => _plan.Weights[i].Name).ToArray();

    public IReadOnlyList<string> ChangedModelWeights =>
        _changedNames ??= Enumerable.Range(0, _changed.Length).Where(m => _changed[m]).Select(m => _plan.ModelWeights[m].Name).ToArray();
}
