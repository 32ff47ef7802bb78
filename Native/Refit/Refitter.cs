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
    public RefitCheck Check(IReadOnlyDictionary<string, WeightValue> weights, bool partial, bool allowNonFinite = false)
    {
        var known = _plan.ModelWeights.ToDictionary(m => m.Name, StringComparer.Ordinal);
        var mismatched = new List<WeightMismatch>();
        var changed = new List<string>();
        foreach (var (name, value) in weights)
        {
            if (!known.TryGetValue(name, out var info)) continue;
            if (info.Kind == WeightKind.Computed)
                mismatched.Add(new WeightMismatch(name, $"is computed from {string.Join(", ", _plan.FoldedOps.First(o => o.Output == name).Inputs)} when the engine is built and at every refit; supply those instead"));
            else if (!value.Shape.AsSpan().SequenceEqual(info.Shape))
                mismatched.Add(new WeightMismatch(name, $"shape {Shapes.Format(value.Shape)}, the engine expects {Shapes.Format(info.Shape)}"));
            else if (value.Data.LongLength != info.ElementCount)
                mismatched.Add(new WeightMismatch(name, $"{value.Data.LongLength} values for shape {Shapes.Format(info.Shape)}"));
            else if (info.Folded && !value.Data.AsSpan().SequenceEqual(engine.CurrentState.Constants[name]))
                mismatched.Add(new WeightMismatch(name, "was folded into a fused kernel when the engine was built; it can be refitted only with the same value. Rebuild the engine (New-TrtEngine -Force) to change it"));
            else if (info.Folded) continue;
            else if (!allowNonFinite && FirstNonFinite(value.Data) is int bad and >= 0)
                mismatched.Add(new WeightMismatch(name, $"value {value.Data[bad]} at index {bad} is not finite"));
            else changed.Add(name);
        }
        // Constants left out keep their recorded values; parameters left out need -Partial and current weights to keep.
        bool keepsOthers = partial && engine.HasWeights;
        var missing = _plan.ModelWeights
            .Where(m => !weights.ContainsKey(m.Name) && !keepsOthers && m.Kind == WeightKind.Parameter)
            .Select(m => m.Name).ToList();
        // A fused weight is recomputed from all its sources: a partial refit must bring the partners of what it changes
        // (the engine keeps the fused result, not the parts).
        // Folded operations count as recipes here: what they compute changes with any of their inputs.
        if (keepsOthers)
        {
            var touched = new HashSet<string>(weights.Keys, StringComparer.Ordinal);
            foreach (var op in _plan.FoldedOps.Where(o => o.Inputs.Any(touched.Contains))) touched.Add(op.Output);
            var groups = _plan.Weights.Select(w => w.Recipe.Sources).Concat(_plan.FoldedOps.Select(o => o.Inputs));
            foreach (var sources in groups.Where(g => g.Any(touched.Contains)))
                foreach (string partner in sources)
                    if (!touched.Contains(partner)) RequirePartner(partner, weights, known, missing);
        }
        var extra = weights.Keys.Where(n => !known.ContainsKey(n)).Order(StringComparer.Ordinal).ToList();
        return new RefitCheck { Changed = changed, Missing = missing, Extra = extra, Mismatched = mismatched };
    }

    /// <summary>A partner left out: a parameter must be supplied; a computed weight needs what it is computed from.</summary>
    private void RequirePartner(string partner, IReadOnlyDictionary<string, WeightValue> weights, Dictionary<string, ModelWeightInfo> known, List<string> missing)
    {
        if (weights.ContainsKey(partner) || missing.Contains(partner)) return;
        if (known[partner].Kind == WeightKind.Parameter) missing.Add(partner);
        else if (known[partner].Kind == WeightKind.Computed)
            foreach (string input in _plan.FoldedOps.First(o => o.Output == partner).Inputs) RequirePartner(input, weights, known, missing);
    }

    /// <summary>
    /// The supplied weights plus the computed weights of every folded operation that one of them feeds. Inputs not
    /// supplied come from the recorded constants; an operation missing a parameter is left out (a refit's Check
    /// requires those, and -WhatIf compares only what it can compute).
    /// </summary>
    private IReadOnlyDictionary<string, WeightValue> WithComputed(IReadOnlyDictionary<string, WeightValue> weights, IReadOnlyDictionary<string, float[]> constants)
    {
        if (_plan.FoldedOps.Length == 0) return weights;
        var all = new Dictionary<string, WeightValue>(weights, StringComparer.Ordinal);
        foreach (var op in _plan.FoldedOps.Where(o => o.Inputs.Any(all.ContainsKey) && o.Inputs.All(i => all.ContainsKey(i) || constants.ContainsKey(i))))
            all[op.Output] = new WeightValue(op.OutputShape, op.Evaluate(op.Inputs.Select(i => all.TryGetValue(i, out var v) ? v.Data : constants[i]).ToArray()));
        return all;
    }

    /// <summary>
    /// Which supplied model weights would leave the engine exactly as it is: every engine weight derived from them
    /// comes out bit-identical (folded constants supplied with their value count too). Runs the recipes as a refit
    /// would, but changes nothing. Empty for a stripped engine, which has nothing to compare with.
    /// </summary>
    public IReadOnlyList<string> Unchanged(IReadOnlyDictionary<string, WeightValue> weights)
    {
        var current = engine.CurrentState;
        if (current.Weights is null) return [];
        var supplied = weights;
        weights = WithComputed(weights, current.Constants);
        var compared = new HashSet<string>(StringComparer.Ordinal);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _plan.Weights.Length; i++)
        {
            var sources = _plan.Weights[i].Recipe.Sources;
            if (!sources.Any(weights.ContainsKey) || !sources.All(s => weights.ContainsKey(s) || current.Constants.ContainsKey(s))) continue;
            var feeding = Feeding(sources, supplied);
            compared.UnionWith(feeding);
            if (!Evaluate(i, weights, current.Constants).AsSpan().SequenceEqual(current.Weights.Buffers[i])) changed.UnionWith(feeding);
        }
        var folded = _plan.ModelWeights.Where(m => m.Folded).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        return supplied.Keys.Where(n => (compared.Contains(n) && !changed.Contains(n)) || folded.Contains(n)).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The supplied weights a recipe's sources come from, directly or through folded operations.</summary>
    private HashSet<string> Feeding(IEnumerable<string> sources, IReadOnlyDictionary<string, WeightValue> supplied)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (string s in sources)
        {
            if (supplied.ContainsKey(s)) result.Add(s);
            else if (_plan.FoldedOps.FirstOrDefault(o => o.Output == s) is { } op) result.UnionWith(Feeding(op.Inputs, supplied));
        }
        return result;
    }

    private float[] Evaluate(int weight, IReadOnlyDictionary<string, WeightValue> weights, IReadOnlyDictionary<string, float[]> constants) =>
        _plan.Weights[weight].Recipe.Evaluate(_plan.Weights[weight].Recipe.Sources.Select(s => weights.TryGetValue(s, out var v) ? v.Data : constants[s]).ToArray());

    /// <summary>Applies new weights, or throws <see cref="RefitException"/> and leaves the engine exactly as it was.</summary>
    /// <returns>The number of engine weights recomputed.</returns>
    public int Refit(IReadOnlyDictionary<string, WeightValue> weights, bool partial = false, bool allowNonFinite = false, bool ignoreExtra = false)
    {
        RefitCheck check = Check(weights, partial, allowNonFinite);
        if (ignoreExtra) check = new RefitCheck { Changed = check.Changed, Missing = check.Missing, Extra = [], Mismatched = check.Mismatched };
        if (!check.IsValid) throw new RefitException(_plan.Name, check);

        lock (engine)
        {
            var current = engine.CurrentState;
            var constants = new Dictionary<string, float[]>(current.Constants, StringComparer.Ordinal);
            foreach (var name in current.Constants.Keys)
                if (weights.TryGetValue(name, out var value)) constants[name] = value.Data;
            weights = WithComputed(weights, constants);
            var buffers = new float[_plan.Weights.Length][];
            int recomputed = 0;
            for (int i = 0; i < buffers.Length; i++)
            {
                var sources = _plan.Weights[i].Recipe.Sources;
                // Recompute what a supplied weight feeds; a stripped engine recomputes everything (Check made sure it can).
                if (current.Weights is null || sources.Any(weights.ContainsKey))
                {
                    buffers[i] = Evaluate(i, weights, constants);
                    recomputed++;
                }
                else buffers[i] = current.Weights.Buffers[i];
            }
            engine.Swap(new Engine.State(new WeightSet(buffers), constants));
            return recomputed;
        }
    }

    private static int FirstNonFinite(float[] data)
    {
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite(data[i])) return i;
        return -1;
    }
}
