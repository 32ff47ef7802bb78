using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Refit;

/// <summary>
/// Runs an engine's recipes while their weights are still being read from a file: each recipe whose model weights
/// have all been read, and differ from the engine's, is evaluated on a background thread into a pooled buffer, so
/// packing overlaps reading. The engine is not touched. When the reading ends the background thread stops after the
/// part of a recipe it is on (the refit, on all the engine's threads, does the rest sooner than it would alone, and
/// finishes a recipe the thread stopped in from the panels it had not reached). A
/// refit takes a result only for the very arrays it was computed from (a recipe is a function of its sources' values,
/// and the arrays of a file read for one refit are never written again), and computes everything else itself; so a
/// stale, partial or unused preparation can cost time but never change a result.
/// </summary>
public sealed class RefitPreparation : IDisposable
{
    private readonly Engine _engine;
    private readonly EngineWeight[] _weights;
    private readonly int[] _waiting;
    private readonly float[][][] _sources;
    private readonly float[]?[] _results;
    private readonly bool[] _finite;
    // Panels of each result written, from the first (all of them unless the thread stopped in that recipe).
    private readonly int[] _panels;
    // The values read so far, by model weight index.
    private readonly float[]?[] _read;
    private readonly BlockingCollection<int> _ready = [];
    private readonly ModelValues _current;
    private readonly Task _worker;
    private bool _completed;
    private volatile bool _stop;

    /// <summary>Starts the background evaluator; <see cref="Supply"/> then feeds it the weights as they are read.</summary>
    public RefitPreparation(Engine engine)
    {
        _engine = engine;
        _current = engine.CurrentState.ModelValues;
        _weights = engine.Plan.Weights;
        _waiting = Array.ConvertAll(engine.Plan.RecipeSources, s => s.Length);
        _sources = new float[_weights.Length][][];
        _results = new float[_weights.Length][];
        _finite = new bool[_weights.Length];
        _panels = new int[_weights.Length];
        _read = new float[engine.Plan.ModelWeights.Length][];
        _worker = Task.Run(Evaluate);
    }

    /// <summary>
    /// A model weight as it is read (the reading thread's call). A name the engine lacks, one given twice or values of
    /// the wrong length prepare nothing: the refit checks and reports those.
    /// </summary>
    public void Supply(string name, float[] values)
    {
        var plan = _engine.Plan;
        if (_completed || !plan.ModelWeightIndex.TryGetValue(name, out int m) || plan.ModelWeights[m].ElementCount != values.LongLength || _read[m] is not null)
            return;
        _read[m] = values;
        foreach (int i in plan.RecipeUsers[m])
            if (--_waiting[i] == 0)
            {
                _sources[i] = Array.ConvertAll(plan.RecipeSources[i], s => _read[s]!);
                _ready.Add(i);
            }
    }

    /// <summary>Stops the background thread after its current part, then offers the results to the engine's next refit.</summary>
    public void Complete() => Complete(drain: false);

    /// <param name="drain">Let the background thread finish every recipe first (tests: a preparation that did all it could).</param>
    internal void Complete(bool drain)
    {
        if (_completed) return;
        Stop(drain);
        lock (_engine) _engine.Preparation = this;
    }

    private void Stop(bool drain = false)
    {
        _completed = true;
        _stop = !drain;
        _ready.CompleteAdding();
        _worker.Wait();
    }

    /// <summary>
    /// Parts of this many floats or more (a recipe's panels where they are larger): a stop waits for one part, about
    /// ten microseconds, while the reading thread has nothing else to do.
    /// </summary>
    private const long PartFloats = 1 << 15;

    /// <summary>How long the background thread polls for the next weight before it sleeps: waking it costs the reading thread a system call per weight.</summary>
    private static readonly long PollTicks = Stopwatch.Frequency / 20_000;

    /// <summary>Parts the background thread evaluates before it acts as if stopped (tests: a stop at a known point).</summary>
    internal int PartLimit { get; set; } = int.MaxValue;

    private void Evaluate()
    {
        while (Next() is int i)
        {
            if (_stop) return;
            var recipe = _weights[i].Recipe;
            // An identity weight becomes the read buffer itself at the refit: nothing to compute, but its values are
            // proven finite here, beside the read, rather than scanned by the refit after it.
            if (recipe.Kind == RecipeKind.Identity)
            {
                ProveFinite(_sources[i][0]);
                continue;
            }
            int[] sources = _engine.Plan.RecipeSources[i];
            // What matches the engine's values bit for bit a refit does not recompute (it may have changed since: then
            // the refit computes it; stale values only cost time).
            bool same = true;
            for (int s = 0; s < sources.Length && same; s++)
                same = _current[sources[s]] is { } now && WeightScan.SameBits(now, _sources[i][s]);
            if (same) continue;
            var buffer = WeightPool.Rent(checked((int)_weights[i].Length));
            bool finite = true;
            int panels = 0;
            try
            {
                // In parts, in panel order, so a stop waits for one part only; the refit finishes what is left.
                foreach (var (first, end) in RecipeEvaluation.Parts(_weights[i], PartFloats))
                {
                    if (_stop || PartLimit-- <= 0) break;
                    finite &= recipe.Evaluate(_sources[i], buffer, first, end);
                    panels = end;
                }
            }
            catch (Exception)
            {
                // Left to the refit, which computes it again and reports what is wrong, if anything.
                panels = 0;
            }
            if (panels > 0) (_results[i], _finite[i], _panels[i]) = (buffer, finite, panels);
            else WeightPool.Return(null, [buffer]);
        }
    }

    /// <summary>
    /// Marks a value read from the file finite in the pool's record of its buffer (a refit then takes it unscanned),
    /// scanning it in parts so a stop waits for one part only; small values are left to the refit, whose scan of them
    /// costs less than the mark.
    /// </summary>
    private void ProveFinite(float[] value)
    {
        if (value.Length < Refitter.ScanOnceFloats) return;
        for (int start = 0; start < value.Length; start += (int)PartFloats)
            if (_stop || WeightScan.FirstNonFinite(value.AsSpan(start, Math.Min((int)PartFloats, value.Length - start))) >= 0) return;
        WeightPool.MarkFinite(value);
    }

    /// <summary>The next recipe whose weights have all been read, or null once the reading has ended.</summary>
    private int? Next()
    {
        // Polls the count (a plain read), not the collection, so the reading thread's adds do not wait on its lock.
        long until = Stopwatch.GetTimestamp() + PollTicks;
        while (_ready.Count == 0 && !_ready.IsAddingCompleted && Stopwatch.GetTimestamp() < until) Thread.SpinWait(16);
        return _ready.TryTake(out int i, Timeout.Infinite) ? i : null;
    }

    /// <summary>
    /// The result of engine weight <paramref name="weight"/>'s recipe if it was computed from exactly these source
    /// arrays (<paramref name="values"/>: the model values by index); the caller owns the buffer from then on. Called
    /// under the engine's refit lock.
    /// </summary>
    /// <param name="finite">Whether the panels written found their source values finite.</param>
    /// <param name="panels">The panels written, from the first: the recipe's <see cref="WeightRecipe.Panels"/> unless the thread stopped in it.</param>
    internal bool TryTake(int weight, float[]?[] values, [NotNullWhen(true)] out float[]? buffer, out bool finite, out int panels)
    {
        (buffer, finite, panels) = (null, false, 0);
        if (_results[weight] is not { } result) return false;
        int[] sources = _engine.Plan.RecipeSources[weight];
        for (int s = 0; s < sources.Length; s++)
            if (!ReferenceEquals(values[sources[s]], _sources[weight][s])) return false;
        (buffer, finite, panels, _results[weight]) = (result, _finite[weight], _panels[weight], null);
        return true;
    }

    /// <summary>Results computed and not taken by a refit (for tests).</summary>
    internal int Untaken => _results.Count(r => r is not null);

    /// <summary>Results not taken whose recipe the thread stopped in (for tests).</summary>
    internal int UntakenPartial => Enumerable.Range(0, _results.Length).Count(i => _results[i] is not null && _panels[i] < _weights[i].Recipe.Panels);

    /// <summary>Withdraws the offer and hands back the results no refit took.</summary>
    public void Dispose()
    {
        if (!_completed) Stop();
        lock (_engine)
        {
            if (ReferenceEquals(_engine.Preparation, this)) _engine.Preparation = null;
            WeightPool.Return(null, _results.OfType<float[]>());
            Array.Clear(_results);
        }
        _ready.Dispose();
    }
}
