namespace TrtEngine.Native.Refit;

/// <summary>What a refit would do: weights that would change, weights missing, unknown names, mismatches and ignored integer tensors. Nothing is applied.</summary>
public sealed class RefitCheck
{
    /// <summary>The supplied weights the refit takes (folded constants given as the engine holds them are not listed: a refit cannot change them).</summary>
    public required IReadOnlyList<string> Changed { get; init; }
    public required IReadOnlyList<string> Missing { get; init; }
    public required IReadOnlyList<string> Extra { get; init; }
    public required IReadOnlyList<WeightMismatch> Mismatched { get; init; }

    /// <summary>Names of integer tensors that are not weights of this engine (a torch state dict's BatchNorm step counters): left out.</summary>
    public IReadOnlyList<string> Ignored { get; init; } = [];

    /// <summary>
    /// Names that are not weights of this engine but show a tensor given under a weight's name (a torch checkpoint's
    /// tied weights, <see cref="WeightValue.Tie"/>): they hold the same values, and are left out.
    /// </summary>
    public IReadOnlyList<string> Tied { get; init; } = [];

    /// <summary>Parameters a partial refit leaves out, which keep their current values.</summary>
    public IReadOnlyList<string> Kept { get; init; } = [];

    /// <summary>A partial refit asked of an engine that has no weights to keep (imported without them): it must be given all.</summary>
    public bool PartialWithoutWeights { get; init; }

    /// <summary>Whether the refit checked was partial (then what is missing is what the engine cannot keep).</summary>
    public bool Partial { get; init; }

    /// <summary>
    /// A partial refit given none of the engine's weights to change (an empty checkpoint, one of integer tensors only):
    /// it would do nothing, which is a wrong file or name map far more often than a wish, so it is refused.
    /// </summary>
    public bool SuppliesNone => Partial && Changed.Count == 0 && Missing.Count == 0 && Extra.Count == 0 && Mismatched.Count == 0;

    public bool IsValid => Missing.Count == 0 && Extra.Count == 0 && Mismatched.Count == 0 && !SuppliesNone;

    public string Describe()
    {
        var parts = new List<string>();
        if (SuppliesNone)
            parts.Add($"the source gives none of this engine's weights{(Ignored.Count + Tied.Count) switch { 0 => "", 1 => " (only a tensor that is not a weight)", int n => $" (only {n} tensors that are not weights)" }}, so this partial refit would change nothing: " +
                      "give the checkpoint of this model, or a -NameMap that renames its tensors to the engine's weights");
        if (PartialWithoutWeights && Missing.Count > 0)
            parts.Add("a partial refit keeps the weights an engine has, and this one has none (it was saved without them): supply every weight once");
        if (Missing.Count > 0)
            parts.Add($"missing {Missing.Count}: {string.Join(", ", Missing.Take(20))}{(Missing.Count > 20 ? ", …" : "")}" +
                      (Partial ? "" : " (supply them, or ask for a partial refit, -Partial, which keeps their values)"));
        if (Extra.Count > 0) parts.Add($"not weights of this engine {Extra.Count}: {string.Join(", ", Extra.Take(20))}{(Extra.Count > 20 ? ", …" : "")} ({ExtraHint()})");
        if (Mismatched.Count > 0) parts.Add($"mismatched {Mismatched.Count}: {string.Join("; ", Mismatched.Take(20))}{(Mismatched.Count > 20 ? "; …" : "")}");
        // Sentences: each part starts with a capital.
        return string.Join(". ", parts.Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
    }

    /// <summary>The names left out as no weights (integer tensors, a tied weight's other name), as a clause to end a report with; empty when none.</summary>
    public string LeftOut() =>
        (Ignored.Count == 0 ? "" : $"; {Counted.Of(Ignored.Count, "integer tensor")} {(Ignored.Count == 1 ? "is not a weight and is" : "are not weights and are")} left out ({Names(Ignored)})") +
        (Tied.Count == 0 ? "" : $"; {Counted.Of(Tied.Count, "tensor")} {(Tied.Count == 1 ? "is another name of a weight given (tied) and is" : "are other names of weights given (tied) and are")} left out ({Names(Tied)})");

    /// <summary>Up to eight names for a report.</summary>
    public static string Names(IReadOnlyList<string> names) => string.Join(", ", names.Take(8)) + (names.Count > 8 ? ", …" : "");

    /// <summary>
    /// What to do with names the engine lacks: names under a prefix (DDP's "module.", a training wrapper's "model.")
    /// whose rest are missing weights are renamed by one -NameMap; others (a tied weight's second name, buffers the
    /// export folded away) are renamed or dropped one by one.
    /// </summary>
    private string ExtraHint()
    {
        // The weights a partial refit keeps are as wanted as those a full one misses.
        string? prefix = RemovablePrefix(Extra, Missing.Concat(Kept).ToHashSet(StringComparer.Ordinal));
        return prefix is not null ? $"without '{prefix}' they are this engine's: {NameMapRemoving(prefix)} takes it off"
            // Leaving out every name given would leave nothing to refit.
            : Changed.Count == 0 ? $"rename them to this engine's weights with -NameMap, such as -NameMap @{{ '{Extra[0]}' = '<weight>' }} (Get-TrtEngineInfo lists them)"
            : $"rename them to this engine's weights with -NameMap, or leave them out: -NameMap @{{ '{Extra[0]}' = $null }}";
    }

    /// <summary>The prefix up to a first dot that most of <paramref name="names"/> share and that some lose to become <paramref name="wanted"/> names; null when none does.</summary>
    public static string? RemovablePrefix(IEnumerable<string> names, IReadOnlySet<string> wanted) =>
        names.Where(e => e.IndexOf('.') > 0).GroupBy(e => e[..(e.IndexOf('.') + 1)])
            .Where(g => g.Any(e => wanted.Contains(e[g.Key.Length..]))).MaxBy(g => g.Count())?.Key;

    /// <summary>The -NameMap that takes <paramref name="prefix"/> off the names that start with it.</summary>
    public static string NameMapRemoving(string prefix) => $"-NameMap {{ $_ -replace '^{System.Text.RegularExpressions.Regex.Escape(prefix)}', '' }}";
}
