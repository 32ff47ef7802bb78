using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Refit;

/// <summary>
/// Sets an engine's weights from named model weights by re-running the plan's recipes. All or nothing: every name,
/// shape and value is checked first, the new weights are computed aside, then swapped in with one reference write.
/// </summary>
public sealed class Refitter(Engine engine)
{
    private readonly EnginePlan _plan = engine.Plan;

    /// <summary>Checks weights against the engine without changing anything.</summary>
    /// <param name="partial">Allow leaving out weights (they keep their current values); needs an engine that has weights.</param>
    /// <param name="allowNonFinite">Accept NaN and infinity in the values.</param>
    public RefitCheck Check(IReadOnlyDictionary<string, WeightValue> weights, bool partial, bool allowNonFinite = false) =>
        Check(weights, partial, allowNonFinite, unchanged: null);

    /// <param name="unchanged">Weights known to hold exactly the values the engine has (same fingerprint), already checked once: not scanned again.</param>
    private RefitCheck Check(IReadOnlyDictionary<string, WeightValue> weights, bool partial, bool allowNonFinite, IReadOnlySet<string>? unchanged)
    {
        var current = engine.CurrentState;
        var known = _plan.ModelWeights.ToDictionary(m => m.Name, StringComparer.Ordinal);
        var mismatched = new List<WeightMismatch>();
        var changed = new List<string>();
        foreach (var (name, value) in weights)
        {
            if (!known.TryGetValue(name, out var info)) continue;
            if (!value.Shape.AsSpan().SequenceEqual(info.Shape))
                mismatched.Add(new WeightMismatch(name, $"shape {Shapes.Format(value.Shape)}, the engine expects {Shapes.Format(info.Shape)}"));
            else if (value.Data.LongLength != info.ElementCount)
                mismatched.Add(new WeightMismatch(name, $"{value.Data.LongLength} values for shape {Shapes.Format(info.Shape)}"));
            else if (info.Folded && !value.Data.AsSpan().SequenceEqual(current.ModelValues[name]))
                mismatched.Add(new WeightMismatch(name, "was folded into a fused kernel when the engine was built; it can be refitted only with the same value. Rebuild the engine (New-TrtEngine -Force) to change it"));
            else if (info.Folded) continue;
            else if (!allowNonFinite && unchanged?.Contains(name) != true && FirstNonFinite(value.Data) is int bad and >= 0)
                mismatched.Add(new WeightMismatch(name, $"value {value.Data[bad]} at index {bad} is not finite"));
            else changed.Add(name);
        }
        // Constants left out keep their recorded values; parameters left out need -Partial and current weights to keep.
        bool keepsOthers = partial && engine.HasWeights;
        var missing = _plan.ModelWeights
            .Where(m => !weights.ContainsKey(m.Name) && !keepsOthers && m.Kind == WeightKind.Parameter)
            .Select(m => m.Name).ToList();
        // A fused weight is recomputed from all its sources: the partners of what a partial refit changes come from the
        // model weights the engine keeps; one loaded with packed weights only (an imported plan) must be given them.
        if (keepsOthers)
            foreach (var recipe in _plan.Weights.Select(w => w.Recipe).Where(r => r.Sources.Any(weights.ContainsKey)))
                foreach (string partner in recipe.Sources)
                    if (!weights.ContainsKey(partner) && !current.ModelValues.ContainsKey(partner) && !missing.Contains(partner)) missing.Add(partner);
        var extra = weights.Keys.Where(n => !known.ContainsKey(n)).Order(StringComparer.Ordinal).ToList();
        return new RefitCheck { Changed = changed, Missing = missing, Extra = extra, Mismatched = mismatched };
    }

    /// <summary>
    /// Which supplied model weights would leave the engine exactly as it is: every engine weight derived from them
    /// comes out bit-identical (folded constants supplied with their value count too). Runs the recipes as a refit
    /// would, but changes nothing. Empty for a stripped engine, which has nothing to compare with.
    /// </summary>
    public IReadOnlyList<string> Unchanged(IReadOnlyDictionary<string, WeightValue> weights)
    {
        var current = engine.EnterState();
        try
        {
            return Unchanged(weights, current);
        }
        finally
        {
            Engine.ExitState(current);
        }
    }

    private List<string> Unchanged(IReadOnlyDictionary<string, WeightValue> weights, Engine.State current)
    {
        if (current.Weights is null) return [];
        var compared = new HashSet<string>(StringComparer.Ordinal);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _plan.Weights.Length; i++)
        {
            var sources = _plan.Weights[i].Recipe.Sources;
            if (!sources.Any(weights.ContainsKey) || !sources.All(s => weights.ContainsKey(s) || current.ModelValues.ContainsKey(s))) continue;
            var supplied = sources.Where(weights.ContainsKey).ToList();
            compared.UnionWith(supplied);
            if (!Evaluate(i, weights, current.ModelValues).AsSpan().SequenceEqual(current.Weights.Buffers[i])) changed.UnionWith(supplied);
        }
        var folded = _plan.ModelWeights.Where(m => m.Folded).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        return weights.Keys.Where(n => (compared.Contains(n) && !changed.Contains(n)) || folded.Contains(n)).Order(StringComparer.Ordinal).ToList();
    }

    private float[] Evaluate(int weight, IReadOnlyDictionary<string, WeightValue> weights, IReadOnlyDictionary<string, float[]> current) =>
        _plan.Weights[weight].Recipe.Evaluate(_plan.Weights[weight].Recipe.Sources.Select(s => weights.TryGetValue(s, out var v) ? v.Data : current[s]).ToArray());

    /// <summary>
    /// Applies new weights, or throws <see cref="RefitException"/> and leaves the engine exactly as it was. Only the
    /// engine weights whose model weights changed (by fingerprint) are re-derived; the others are shared with the
    /// current state, and a refit that changes nothing keeps the current weight set.
    /// </summary>
    /// <param name="verify">
    /// Runs on a detached engine holding the new state before it is swapped in; if it throws, the engine keeps its
    /// current weights and the exception propagates.
    /// </param>
    public RefitOutcome Refit(IReadOnlyDictionary<string, WeightValue> weights, bool partial = false, bool allowNonFinite = false, bool ignoreExtra = false,
                              Action<Engine>? verify = null)
    {
        lock (engine)
        {
            var current = engine.CurrentState;
            var values = new Dictionary<string, float[]>(current.ModelValues, StringComparer.Ordinal);
            var prints = new Dictionary<string, ulong>(current.Fingerprints, StringComparer.Ordinal);
            var changed = new HashSet<string>(StringComparer.Ordinal);
            var unchanged = new HashSet<string>(StringComparer.Ordinal);
            foreach (var info in _plan.ModelWeights)
            {
                if (!weights.TryGetValue(info.Name, out var value)) continue;
                ulong print = WeightFingerprint.Of(value.Data);
                (prints.TryGetValue(info.Name, out ulong old) && old == print ? unchanged : changed).Add(info.Name);
                values[info.Name] = value.Data;
                // Values let through with NaN or infinity keep no fingerprint, so a later refit without leave checks them.
                if (allowNonFinite) prints.Remove(info.Name);
                else prints[info.Name] = print;
            }
            // Every check runs before anything changes; values identical to the engine's were checked when they came in.
            RefitCheck check = Check(weights, partial, allowNonFinite, unchanged);
            if (ignoreExtra) check = new RefitCheck { Changed = check.Changed, Missing = check.Missing, Extra = [], Mismatched = check.Mismatched };
            if (!check.IsValid) throw new RefitException(_plan.Name, check);

            // The set the last refit swapped out, once no inference holds it, lends its buffers to the re-derived weights.
            float[][]? spare = engine.Retired is { IsHeld: false } retired ? retired.Buffers : null;
            if (spare is not null) engine.Retired = null;
            var buffers = new float[_plan.Weights.Length][];
            var recomputed = new List<string>();
            for (int i = 0; i < buffers.Length; i++)
            {
                var recipe = _plan.Weights[i].Recipe;
                // A stripped engine derives everything (Check made sure it can); otherwise only what a change feeds.
                if (current.Weights is not null && !recipe.Sources.Any(changed.Contains))
                {
                    buffers[i] = current.Weights.Buffers[i];
                    continue;
                }
                var sources = recipe.Sources.Select(s => values[s]).ToArray();
                if (spare is not null && spare[i].LongLength == _plan.Weights[i].Length && !ReferenceEquals(spare[i], current.Weights?.Buffers[i]))
                    recipe.Evaluate(sources, buffers[i] = spare[i]);
                else buffers[i] = recipe.Evaluate(sources);
                recomputed.Add(_plan.Weights[i].Name);
            }
            var next = new Engine.State(current.Weights is not null && recomputed.Count == 0 ? current.Weights : new WeightSet(buffers), values, prints);
            verify?.Invoke(new Engine(_plan, next));
            engine.Swap(next);
            if (current.Weights is { IsShared: false } swappedOut && !ReferenceEquals(swappedOut, next.Weights)) engine.Retired = swappedOut;
            return new RefitOutcome(recomputed, changed.Order(StringComparer.Ordinal).ToList());
        }
    }

    /// <summary>The index of the first NaN or infinity (exponent bits all set), or -1; vectorised, as it reads every weight.</summary>
    internal static int FirstNonFinite(float[] data)
    {
        var bits = MemoryMarshal.Cast<float, uint>(data.AsSpan());
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var exponent = Vector256.Create(0x7F800000u);
            for (; i <= bits.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(bits), (nuint)i) & exponent, exponent)) break;
        }
        for (; i < data.Length; i++)
            if (!float.IsFinite(data[i])) return i;
        return -1;
    }
}
