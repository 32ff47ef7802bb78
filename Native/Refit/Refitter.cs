using TrtEngine.Native.Kernels;
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
        // Held like an inference: a dispose meanwhile recycles none of the model values this compares against.
        var held = engine.EnterState();
        try
        {
            return Check(weights, partial, allowNonFinite, scanned: null);
        }
        finally
        {
            engine.ExitState(held);
        }
    }

    /// <param name="scanned">The first non-finite index (or -1) of weights a refit has scanned already: not scanned again.</param>
    private RefitCheck Check(IReadOnlyDictionary<string, WeightValue> weights, bool partial, bool allowNonFinite, IReadOnlyDictionary<string, int>? scanned)
    {
        var current = engine.LiveState;
        var known = _plan.ModelWeightIndex;
        var mismatched = new List<WeightMismatch>();
        var changed = new List<string>();
        foreach (var (name, value) in weights)
        {
            if (!known.TryGetValue(name, out int index)) continue;
            var info = _plan.ModelWeights[index];
            if (value.IntegerType is { } integers)
                mismatched.Add(new WeightMismatch(name, $"holds integers ({integers}); the engine's weights are float32: supply floating-point values (F32, F16, BF16 or F64)"));
            else if (info.Kind == WeightKind.Computed)
                mismatched.Add(new WeightMismatch(name, $"is computed from {string.Join(", ", _plan.FoldedOps.First(o => o.Output == name).Inputs)} when the engine is built and at every refit; supply those instead"));
            else if (!value.Shape.AsSpan().SequenceEqual(info.Shape))
                mismatched.Add(new WeightMismatch(name, $"shape {Shapes.Format(value.Shape)}, the engine expects {Shapes.Format(info.Shape)}"));
            else if (value.Data.LongLength != info.ElementCount)
                mismatched.Add(new WeightMismatch(name, $"{value.Data.LongLength} values for shape {Shapes.Format(info.Shape)}"));
            else if (info.Folded && !WeightScan.SameBits(value.Data, current.ModelValues[name]))
                mismatched.Add(new WeightMismatch(name, "was folded into a fused kernel when the engine was built; it can be refitted only with the same value. Rebuild the engine (New-TrtEngine -Force) to change it"));
            else if (info.Folded) continue;
            // A constant of the graph as the engine holds it already (a mask of −∞ folded at import, read again with
            // the model) changes nothing, and is not refused for what the build took; a parameter is checked whenever given.
            else if (!allowNonFinite && (scanned is not null && scanned.TryGetValue(name, out int first) ? first : WeightScan.FirstNonFinite(value.Data)) is int bad and >= 0 &&
                     !UnchangedConstant(index, value.Data, current))
                mismatched.Add(new WeightMismatch(name, $"value {value.Data[bad]} at index {bad} is not finite"));
            else changed.Add(name);
        }
        // Constants left out keep their recorded values; parameters left out need -Partial and current weights to keep.
        bool keepsOthers = partial && engine.HasWeights;
        var leftOut = _plan.ModelWeights.Where(m => !weights.ContainsKey(m.Name) && m.Kind == WeightKind.Parameter).Select(m => m.Name).ToList();
        var missing = keepsOthers ? [] : leftOut;
        // A fused weight is recomputed from all its sources: the partners of what a partial refit changes come from the
        // model weights the engine keeps; one loaded with packed weights only (an imported plan) must be given them.
        // Folded operations count as recipes here: what they compute changes with any of their inputs.
        if (keepsOthers)
        {
            var touched = new HashSet<string>(weights.Keys, StringComparer.Ordinal);
            foreach (var op in _plan.FoldedOps.Where(o => o.Inputs.Any(touched.Contains))) touched.Add(op.Output);
            var groups = _plan.Weights.Select(w => w.Recipe.Sources).Concat(_plan.FoldedOps.Select(o => o.Inputs));
            foreach (var sources in groups.Where(g => g.Any(touched.Contains)))
                foreach (string partner in sources)
                    if (!touched.Contains(partner)) RequirePartner(partner, weights, known, missing, current.ModelValues);
        }
        // Values that pass alone can still derive non-finite engine weights, which a refit refuses once it has computed
        // them; a check that scans values (-WhatIf's) computes them aside to say so too.
        if (!allowNonFinite && scanned is null && mismatched.Count == 0 && missing.Count == 0) mismatched.AddRange(NonFiniteDerived(weights, current.ModelValues));
        // A name that is not a weight is left out when it is integers, or another name of a tensor given as a weight (tied weights).
        var tiesGiven = weights.Where(w => w.Value.Tie is not null && known.ContainsKey(w.Key)).Select(w => w.Value.Tie!).ToHashSet(ReferenceEqualityComparer.Instance);
        var unknown = weights.Where(w => !known.ContainsKey(w.Key))
            .ToLookup(w => w.Value.IntegerType is not null ? nameof(RefitCheck.Ignored) : w.Value.Tie is { } tie && tiesGiven.Contains(tie) ? nameof(RefitCheck.Tied) : nameof(RefitCheck.Extra), w => w.Key);
        List<string> Names(string kind) => unknown[kind].Order(StringComparer.Ordinal).ToList();
        return new RefitCheck
        {
            Changed = changed, Missing = missing, Extra = Names(nameof(RefitCheck.Extra)), Mismatched = mismatched,
            Ignored = Names(nameof(RefitCheck.Ignored)), Tied = Names(nameof(RefitCheck.Tied)), Kept = keepsOthers ? leftOut.Except(missing).ToList() : [],
            PartialWithoutWeights = partial && !engine.HasWeights, Partial = partial,
        };
    }

    /// <summary>
    /// Engine weights that finite model weights made non-finite (a negative running variance under a BatchNormalization's
    /// square root, a fold factor beyond float's range), named by the model weights they come from; null when there are
    /// none. Only results whose recipe did not prove them finite as it wrote them are scanned (a BatchNormalization's
    /// folded bias, which is one value a channel; any other only when something is wrong).
    /// </summary>
    private List<WeightMismatch>? NonFiniteResults(List<int> recomputed, float[][] buffers, bool[] finiteSource)
    {
        List<WeightMismatch>? results = null;
        foreach (int i in recomputed)
            if (!finiteSource[i] && NonFiniteResult(i, buffers[i]) is { } result) (results ??= []).Add(result);
        return results;
    }

    /// <summary>
    /// What <see cref="NonFiniteResults"/> finds, for a check: every recipe that the supplied weights feed and whose
    /// sources are all at hand (supplied or kept by the engine) is computed aside and scanned.
    /// </summary>
    private List<WeightMismatch> NonFiniteDerived(IReadOnlyDictionary<string, WeightValue> weights, IReadOnlyDictionary<string, float[]> kept)
    {
        var all = WithComputed(weights, kept);
        var results = new List<WeightMismatch>();
        for (int i = 0; i < _plan.Weights.Length; i++)
        {
            var recipe = _plan.Weights[i].Recipe;
            if (recipe.Kind != RecipeKind.Identity && recipe.Sources.Any(weights.ContainsKey) && recipe.Sources.All(s => all.ContainsKey(s) || kept.ContainsKey(s)) &&
                NonFiniteResult(i, Evaluate(i, all, kept)) is { } result)
                results.Add(result);
        }
        return results;
    }

    /// <summary>The refusal of engine weight <paramref name="i"/>'s result when it holds NaN or infinity (an identity's is its own source's, checked as such).</summary>
    private WeightMismatch? NonFiniteResult(int i, float[] result)
    {
        var weight = _plan.Weights[i];
        if (weight.Recipe.Kind == RecipeKind.Identity || WeightScan.FirstNonFinite(result) is not (int bad and >= 0)) return null;
        return new WeightMismatch(string.Join(", ", weight.Recipe.Sources),
            $"make engine weight '{weight.Name}' = {weight.Recipe} not finite ({result[bad]} at index {bad}): check their values (a variance must not be negative)");
    }

    /// <summary>
    /// A partner left out: one whose value the engine keeps is taken from there; otherwise a parameter must be
    /// supplied, and a computed weight needs what it is computed from.
    /// </summary>
    private void RequirePartner(string partner, IReadOnlyDictionary<string, WeightValue> weights, IReadOnlyDictionary<string, int> known, List<string> missing,
                                IReadOnlyDictionary<string, float[]> kept)
    {
        if (weights.ContainsKey(partner) || missing.Contains(partner) || kept.ContainsKey(partner)) return;
        var kind = _plan.ModelWeights[known[partner]].Kind;
        if (kind == WeightKind.Parameter) missing.Add(partner);
        else if (kind == WeightKind.Computed)
            foreach (string input in _plan.FoldedOps.First(o => o.Output == partner).Inputs) RequirePartner(input, weights, known, missing, kept);
    }

    /// <summary>
    /// The supplied weights plus the computed weights of every folded operation that one of them feeds. Inputs not
    /// supplied come from the values the engine keeps; an operation missing one is left out (a refit's Check
    /// requires those, and -WhatIf compares only what it can compute).
    /// </summary>
    private IReadOnlyDictionary<string, WeightValue> WithComputed(IReadOnlyDictionary<string, WeightValue> weights, IReadOnlyDictionary<string, float[]> kept)
    {
        if (_plan.FoldedOps.Length == 0) return weights;
        var all = new Dictionary<string, WeightValue>(weights, StringComparer.Ordinal);
        foreach (var op in _plan.FoldedOps.Where(o => o.Inputs.Any(all.ContainsKey) && o.Inputs.All(i => all.ContainsKey(i) || kept.ContainsKey(i))))
            all[op.Output] = new WeightValue(op.OutputShape, op.Evaluate(op.Inputs.Select(i => all.TryGetValue(i, out var v) ? v.Data : kept[i]).ToArray()));
        return all;
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
            engine.ExitState(current);
        }
    }

    private List<string> Unchanged(IReadOnlyDictionary<string, WeightValue> weights, Engine.State current)
    {
        if (current.Weights is null) return [];
        var supplied = weights;
        weights = WithComputed(weights, current.ModelValues);
        var compared = new HashSet<string>(StringComparer.Ordinal);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _plan.Weights.Length; i++)
        {
            var sources = _plan.Weights[i].Recipe.Sources;
            if (!sources.Any(weights.ContainsKey) || !sources.All(s => weights.ContainsKey(s) || current.ModelValues.ContainsKey(s))) continue;
            var feeding = Feeding(sources, supplied);
            compared.UnionWith(feeding);
            // Bit for bit, as the refit compares: float equality takes -0 for 0, which a refit re-derives.
            if (!WeightScan.SameBits(Evaluate(i, weights, current.ModelValues), current.Weights.Buffers[i])) changed.UnionWith(feeding);
        }
        var folded = _plan.ModelWeights.Where(m => m.Folded).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        return supplied.Keys.Where(n => (compared.Contains(n) && !changed.Contains(n)) || folded.Contains(n)).Order(StringComparer.Ordinal).ToList();
    }

    private float[] Evaluate(int weight, IReadOnlyDictionary<string, WeightValue> weights, IReadOnlyDictionary<string, float[]> current) =>
        _plan.Weights[weight].Recipe.Evaluate(_plan.Weights[weight].Recipe.Sources.Select(s => weights.TryGetValue(s, out var v) ? v.Data : current[s]).ToArray());

    /// <summary>Values from this many floats on are marked finite once scanned (scanning fewer costs less than the mark).</summary>
    internal const int ScanOnceFloats = 1024;

    /// <summary>
    /// Applies new weights, or throws <see cref="RefitException"/> and leaves the engine exactly as it was. Only the
    /// engine weights whose model weights changed (bit for bit) are re-derived; the others are shared with the
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
            var work = engine.RefitWorkspace;
            try
            {
                return Refit(weights, partial, allowNonFinite, ignoreExtra, verify, work);
            }
            finally
            {
                work.Clear();
            }
        }
    }

    private RefitOutcome Refit(IReadOnlyDictionary<string, WeightValue> weights, bool partial, bool allowNonFinite, bool ignoreExtra, Action<Engine>? verify,
                               RefitWorkspace work)
    {
        var current = engine.LiveState;
        var infos = _plan.ModelWeights;
        // Names, shapes and folded constants first; NaN and infinity once the recipes have run, as most values are
        // proven finite by the recipe that packs them. A refusal lists every problem, so it scans everything.
        bool keepsOthers = partial && current.Weights is not null;
        var given = work.Given;
        bool inOrder = Given(weights, current, ignoreExtra, keepsOthers, given);
        if ((!inOrder || keepsOthers) && !Checked(weights, partial, allowNonFinite: true, ignoreExtra, scanned: null).IsValid)
            throw new RefitException(_plan.Name, Checked(weights, partial, allowNonFinite, ignoreExtra, scanned: null));

        // Each supplied value is compared with the engine's (stopping at the first difference); one that differs is
        // adopted, copied unless immutable. An immutable one whose first value differs is adopted here; the rest
        // (copies, and whole compares of values that may be equal) run on the pool when large: per-weight work items
        // that small would cost more to share out than to do. Folded constants were found equal by the check.
        var adopted = work.Adopted;
        var copied = work.Copied;
        // A caller's array that only one recipe reads is copied in the recipes' pass (EnginePlan.SoleReaders).
        var copyFrom = work.CopyFrom;
        long workFloats = 0;
        int supplied = 0;
        for (int m = 0; m < infos.Length; m++)
        {
            if (given[m] is not { } value || infos[m].Folded) continue;
            supplied++;
            if (value.Immutable && (current.ModelValues[m] is not { } now || !WeightScan.SameFirstBits(now, value.Data)))
                adopted[m] = value.Data;
            else
            {
                work.Pending.Add(m);
                workFloats += value.Data.LongLength;
            }
        }
        if (work.Pending.Count > 0) CompareOrCopyPending(work, workFloats, current);
        var values = current.ModelValues.ToArray();
        var changed = new bool[infos.Length];
        bool anyAdopted = false;
        for (int m = 0; m < infos.Length; m++)
            if (adopted[m] is { } data)
            {
                changed[m] = anyAdopted = true;
                values[m] = data;
            }
        bool anyChanged = anyAdopted | (_plan.FoldedOps.Length > 0 && RunFoldedOps(values, changed));

        // The set the last refit swapped out, once no inference holds it, lends its buffers to the re-derived weights;
        // a refit that re-derives none leaves it for the next (handing it back and renting again cost more than the refit).
        bool rederives = current.Weights is null || anyChanged;
        var spareSet = rederives && engine.Retired is { IsHeld: false } retired ? retired : null;
        float[][]? spare = spareSet?.Buffers;
        if (spare is not null) engine.Retired = null;
        // Recipes a file read evaluated aside are taken where they were computed from these very arrays.
        var preparation = engine.Preparation;
        engine.Preparation = null;
        var sources = _plan.RecipeSources;
        var buffers = new float[_plan.Weights.Length][];
        var recomputed = new List<int>(buffers.Length);
        // Buffers that are model values too: a value's own array that an identity recipe takes as it is.
        var modelValueBuffers = new bool[buffers.Length];
        // What the engine will own from now on: buffers taken from a preparation or rented below, and adopted values
        // (the spare set's buffers and the copies of a caller's arrays are its own already).
        var fresh = work.Fresh;
        for (int i = 0; i < buffers.Length; i++)
        {
            // A stripped engine derives everything (Check made sure it can); otherwise only what a change feeds.
            if (current.Weights is not null && !AnyChanged(sources[i], changed))
            {
                buffers[i] = current.Weights.Buffers[i];
                modelValueBuffers[i] = current.Weights.IsModelValue(i);
                continue;
            }
            recomputed.Add(i);
            // An identity weight is the value itself where that is pinned and never written again: a caller's array
            // copied above or by its evaluation below (the engine's alone), or a value read from a file into the pool's buffers.
            bool knownFinite = false;
            if (_plan.Weights[i].Recipe.Kind == RecipeKind.Identity && sources[i][0] is var m &&
                (copied[m] != 0 || copyFrom[m] is not null || (adopted[m] is { } read && given[m]!.Immutable && WeightPool.Made(read, out knownFinite))))
            {
                buffers[i] = values[m]!;
                modelValueBuffers[i] = true;
                if (copied[m] == 1 || knownFinite) work.FiniteAside.Add(i);
                // The caller's array is copied as the identity's evaluation: read as its source, written into the engine's copy.
                if (copyFrom[m] is { } callers)
                {
                    work.Evaluated.Add(i);
                    work.InputsOf(i, 1)[0] = callers;
                }
                continue;
            }
            if (preparation is not null && preparation.TryTake(i, values, given, out var ready, out bool finite))
            {
                buffers[i] = ready;
                fresh.Add(ready);
                if (finite) work.FiniteAside.Add(i);
                continue;
            }
            if (spare is not null && !spareSet!.IsModelValue(i) && spare[i].LongLength == _plan.Weights[i].Length &&
                !ReferenceEquals(spare[i], current.Weights?.Buffers[i]) && !engine.HeldElsewhere(i, spare[i]))
                buffers[i] = spare[i];
            else work.Rented.Add(i);
            work.Evaluated.Add(i);
            var inputs = work.InputsOf(i, sources[i].Length);
            for (int s = 0; s < inputs.Length; s++) inputs[s] = values[sources[i][s]]!;
            // A changed value's sole reader is always evaluated here: its new array matches no preparation.
            work.CopyFirst[i] = copyFrom[sources[i][0]];
        }
        RecipeEvaluation.Run(_plan.Weights, work.Evaluated, work.Inputs, buffers, work.FiniteSource, engine.Pool, work.CopyFirst);
        foreach (int i in work.Rented) fresh.Add(buffers[i]);
        var finiteSource = work.FiniteSource;
        foreach (int i in work.FiniteAside) finiteSource[i] = true;
        var provenFinite = work.ProvenFinite;
        foreach (int i in recomputed)
            if (finiteSource[i]) provenFinite[sources[i][0]] = true;
        // Adopted values no recipe proved finite are scanned; the engine is still untouched if one is refused.
        Dictionary<string, int>? firstNonFinite = null;
        List<string>? finiteNow = null; // those of the non-finite values the engine had (so none, usually)
        for (int m = 0; m < infos.Length; m++)
        {
            if (adopted[m] is not { } data) continue;
            int first = provenFinite[m] ? -1 : WeightScan.FirstNonFinite(data);
            // An immutable value scanned once need not be again when it comes back (alternating checkpoints).
            if (first < 0 && !provenFinite[m] && given[m]!.Immutable && data.Length >= ScanOnceFloats) WeightPool.MarkFinite(data);
            if (first >= 0) (firstNonFinite ??= new Dictionary<string, int>(StringComparer.Ordinal))[infos[m].Name] = first;
            else if (current.NonFinite.Contains(infos[m].Name)) (finiteNow ??= []).Add(infos[m].Name);
        }
        if (firstNonFinite is not null && !allowNonFinite)
        {
            if (spareSet is not null) engine.Retired = spareSet;
            // Every other supplied value is finite: proven, scanned, or the engine's own.
            foreach (string name in weights.Keys) firstNonFinite.TryAdd(name, -1);
            throw new RefitException(_plan.Name, Checked(weights, partial, allowNonFinite, ignoreExtra, firstNonFinite));
        }
        if (!allowNonFinite && firstNonFinite is null && NonFiniteResults(recomputed, buffers, finiteSource) is { } results)
        {
            if (spareSet is not null) engine.Retired = spareSet;
            throw new RefitException(_plan.Name, new RefitCheck { Changed = [], Missing = [], Extra = [], Mismatched = results });
        }
        var nonFinite = current.NonFinite;
        if (firstNonFinite is not null || finiteNow is not null)
        {
            var set = new HashSet<string>(current.NonFinite, StringComparer.Ordinal);
            if (finiteNow is not null) set.ExceptWith(finiteNow);
            if (firstNonFinite is not null) set.UnionWith(firstNonFinite.Keys);
            nonFinite = set;
        }
        var next = new Engine.State(current.Weights is not null && recomputed.Count == 0 ? current.Weights : new WeightSet(buffers, modelValueBuffers),
                                    new ModelValues(_plan.ModelWeightIndex, values), nonFinite);
        verify?.Invoke(new Engine(_plan, next));
        // The engine owns what this refit made or adopted (what the current state holds it owns already, or never will).
        int valuesFrom = fresh.Count;
        for (int m = 0; m < infos.Length; m++)
            if (adopted[m] is { } data && copied[m] == 0 && copyFrom[m] is null) fresh.Add(data);
        var claimed = work.Claimed.AsSpan(0, fresh.Count);
        engine.Swap(next, fresh, claimed);
        var was = work.WasOwned;
        for (int m = 0, j = valuesFrom; m < infos.Length; m++)
            if (changed[m])
                was[m] = engine.Owned.Swapped(m, copied[m] != 0 || copyFrom[m] is not null ? OwnedValues.Ownership.Copy
                                                 : adopted[m] is not null && claimed[j++] ? OwnedValues.Ownership.Pool : OwnedValues.Ownership.None);
        // The model values replaced are recycled unless a reader still holds the old state (it may compare them), or an
        // older one that shares them: one that comes after the swap finds the new state.
        if (current.Weights is { IsHeld: false } && anyAdopted) Recycle(current.ModelValues, values, changed, was);
        if (spareSet is not null) ReturnSpares(engine, spareSet, buffers, current.Weights);
        if (current.Weights is { IsShared: false } swappedOut && !ReferenceEquals(swappedOut, next.Weights)) engine.Retired = swappedOut;
        return new RefitOutcome(_plan, recomputed, changed, supplied);
    }

    /// <summary>Folded operations (in dependency order) re-run when an input changed or their result is not known yet; whether a result changed.</summary>
    private bool RunFoldedOps(float[]?[] values, bool[] changed)
    {
        var index = _plan.ModelWeightIndex;
        bool any = false;
        foreach (var op in _plan.FoldedOps)
        {
            int output = index[op.Output];
            if (values[output] is not null && !op.Inputs.Any(i => changed[index[i]])) continue;
            if (!op.Inputs.All(i => values[index[i]] is not null)) continue;
            float[] result = op.Evaluate(op.Inputs.Select(i => values[index[i]]!).ToArray());
            if (values[output] is not { } old || !WeightScan.SameBits(old, result)) changed[output] = any = true;
            values[output] = result;
        }
        return any;
    }

    /// <summary>
    /// Hands the spare set's buffers that no re-derived weight took back to the pool, but for model values (a state may
    /// still hold them): no one can reach a retired set, but the sets before and after this refit may share some of its buffers.
    /// </summary>
    /// <param name="buffers">The new set's buffers by engine weight; null before a refit makes one.</param>
    internal static void ReturnSpares(Engine engine, WeightSet spareSet, float[][]? buffers, WeightSet? before)
    {
        List<float[]>? left = null;
        for (int i = 0; i < spareSet.Buffers.Length; i++)
            if (!ReferenceEquals(buffers?[i], spareSet.Buffers[i]) && !spareSet.IsModelValue(i) && !engine.HeldElsewhere(i, spareSet.Buffers[i]))
                (left ??= []).Add(spareSet.Buffers[i]);
        if (left is not null) WeightPool.Return(engine, NotIn(left, (buffers ?? []).Concat(before?.Buffers ?? [])));
    }

    /// <summary>
    /// The buffers of <paramref name="left"/> that <paramref name="sets"/> do not hold. Its own method: a lambda over a
    /// local of <see cref="ReturnSpares"/> made a closure at every call, with nothing left over nearly always.
    /// </summary>
    private static IEnumerable<float[]> NotIn(List<float[]> left, IEnumerable<float[]> sets)
    {
        var inUse = new HashSet<float[]>(sets, ReferenceEqualityComparer.Instance);
        return left.Where(b => !inUse.Contains(b));
    }

    private static bool AnyChanged(int[] sources, bool[] changed)
    {
        foreach (int m in sources)
            if (changed[m]) return true;
        return false;
    }

    /// <summary>
    /// Puts the supplied values in <paramref name="given"/> by model weight index; whether one pass finds them in order: every name known (or
    /// extra names ignored), none computed, every shape and length the engine's, folded constants unchanged, and (for
    /// a refit that does not keep other weights) every parameter given. Check lists the problems of a refit out of order.
    /// </summary>
    private bool Given(IReadOnlyDictionary<string, WeightValue> weights, Engine.State current, bool ignoreExtra, bool keepsOthers, WeightValue?[] given)
    {
        var infos = _plan.ModelWeights;
        int parameters = 0;
        var index = _plan.ModelWeightIndex;
        bool ordered = true;
        // A dictionary is walked without boxing its enumerator (the readers' sources are dictionaries).
        if (weights is Dictionary<string, WeightValue> dictionary)
            foreach (var (name, value) in dictionary) Take(name, value);
        else
            foreach (var (name, value) in weights) Take(name, value);
        return ordered && (keepsOthers || parameters == _plan.ParameterCount);

        void Take(string name, WeightValue value)
        {
            if (!index.TryGetValue(name, out int m))
            {
                // Integers under another name are no weights of any float32 engine: ignored, not extra. A tied weight's
                // other name goes the way of a refit out of order, whose Check leaves it out when the tie's weight is given.
                ordered &= ignoreExtra || value.IntegerType is not null;
                return;
            }
            var info = infos[m];
            given[m] = value;
            if (info.Kind == WeightKind.Parameter) parameters++;
            ordered &= value.IntegerType is null && info.Kind != WeightKind.Computed && value.Shape.AsSpan().SequenceEqual(info.Shape) && value.Data.LongLength == info.ElementCount &&
                       (!info.Folded || WeightScan.SameBits(value.Data, current.ModelValues[m]!));
        }
    }

    /// <summary>
    /// Recycles the arrays of the changed model values before a refit that no value after it holds (under any name):
    /// the engine's own copies of callers' arrays wait for the next copies of their weights, the pool's buffers it owns
    /// go back to the pool (which takes only what this engine owns), and what it does not own is left alone.
    /// </summary>
    private void Recycle(ModelValues before, float[]?[] after, bool[] changed, OwnedValues.Ownership[] was)
    {
        // Few values are scanned rather than hashed: a set of them cost a small model's refit more than its copies.
        var kept = after.Length > 32 ? new HashSet<float[]?>(after, ReferenceEqualityComparer.Instance) : null;
        List<float[]>? replaced = null;
        for (int m = 0; m < changed.Length; m++)
            if (changed[m] && was[m] != OwnedValues.Ownership.None && before[m] is { } old && !(kept?.Contains(old) ?? Holds(after, old)) &&
                !engine.ValueHeldElsewhere(m, old) && !(was[m] == OwnedValues.Ownership.Copy && engine.Owned.Keep(m, old)))
                (replaced ??= []).Add(old);
        if (replaced is not null) WeightPool.Return(engine, replaced);
    }

    /// <summary>Whether <paramref name="values"/> holds this very array (by reference: Array.IndexOf calls Equals on each).</summary>
    private static bool Holds(float[]?[] values, float[] array)
    {
        foreach (var value in values)
            if (ReferenceEquals(value, array)) return true;
        return false;
    }

    /// <summary>
    /// The supplied values pending (<see cref="RefitWorkspace.Pending"/>) compared with the engine's in full, and copied
    /// where they differ (and the caller may change them), on the pool when large. Changed values land in
    /// <see cref="RefitWorkspace.Adopted"/>, a copy marked in <see cref="RefitWorkspace.Copied"/>. A value one recipe
    /// alone reads gets an empty buffer, and its array lands in <see cref="RefitWorkspace.CopyFrom"/> for the recipes' pass to copy.
    /// </summary>
    private void CompareOrCopyPending(RefitWorkspace work, long floats, Engine.State current) =>
        engine.Pool.For(work.Pending.Count, floats, (Refitter: this, Work: work, Current: current),
            static (s, j) => s.Refitter.CompareOrCopy(s.Work, s.Work.Pending[j], s.Current));

    private void CompareOrCopy(RefitWorkspace work, int m, Engine.State current)
    {
        var value = work.Given[m]!;
        if (current.ModelValues[m] is { } now && (!current.NonFinite.Contains(_plan.ModelWeights[m].Name) || _plan.ModelWeights[m].Kind == WeightKind.Constant) &&
            WeightScan.SameBits(now, value.Data))
            return;
        if (value.Immutable) work.Adopted[m] = value.Data;
        else if (_plan.SoleReaders[m] >= 0) (work.Adopted[m], work.CopyFrom[m]) = (engine.Owned.Take(m, value.Data.Length, engine), value.Data);
        else (work.Adopted[m], work.Copied[m]) = Copy(m, value.Data, FeedsIdentity(m));
    }

    /// <summary>Whether model weight <paramref name="m"/> is a constant of the graph given bit for bit as the engine holds it.</summary>
    private bool UnchangedConstant(int m, float[] data, Engine.State current) =>
        _plan.ModelWeights[m].Kind == WeightKind.Constant && current.ModelValues[m] is { } now && WeightScan.SameBits(now, data);

    /// <summary>Whether an engine weight is model weight <paramref name="m"/> as it is (which can then take a copy of it as its buffer).</summary>
    private bool FeedsIdentity(int m)
    {
        foreach (int i in _plan.RecipeUsers[m])
            if (_plan.Weights[i].Recipe.Kind == RecipeKind.Identity) return true;
        return false;
    }

    /// <summary>
    /// A caller's mutable array for model weight <paramref name="m"/> copied into a buffer the engine owns; and 1 where
    /// every value is found finite on the way (asked for a copy an identity weight takes: no recipe then reads it), else 2.
    /// </summary>
    private unsafe (float[] Copy, byte Finite) Copy(int m, float[] data, bool proveFinite)
    {
        var copy = engine.Owned.Take(m, data.Length, engine);
        if (!proveFinite)
        {
            CopyKernels.CopyFloats(data, copy);
            return (copy, 2);
        }
        fixed (float* source = data, target = copy)
            return (copy, PackingKernels.CopyFinite(source, target, data.Length) ? (byte)1 : (byte)2);
    }

    /// <summary><see cref="Check(IReadOnlyDictionary{string, WeightValue}, bool, bool)"/>, leaving out unknown names when asked to.</summary>
    private RefitCheck Checked(IReadOnlyDictionary<string, WeightValue> weights, bool partial, bool allowNonFinite, bool ignoreExtra, IReadOnlyDictionary<string, int>? scanned)
    {
        var check = Check(weights, partial, allowNonFinite, scanned);
        return ignoreExtra ? new RefitCheck
        {
            Changed = check.Changed, Missing = check.Missing, Extra = [], Mismatched = check.Mismatched, Ignored = check.Ignored, Tied = check.Tied, Kept = check.Kept,
            PartialWithoutWeights = check.PartialWithoutWeights, Partial = check.Partial,
        } : check;
    }
}
