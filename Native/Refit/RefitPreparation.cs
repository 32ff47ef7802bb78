using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Refit;

/// <summary>
/// Runs an engine's recipes while their weights are still being read from a file: the file is read in items (a
/// safetensors file's tensors in pieces, an ONNX model whole) by two of the engine's threads, each of which evaluates
/// the recipes its read completed (whose model weights have all been read, and differ from the engine's) into pooled
/// buffers while their sources are still in its cache; once the file is in, the two share what is left, part by part,
/// so the refit that follows only takes the results. The engine is not touched. A refit takes a result only for the
/// very arrays it was computed from (a recipe is a function of its sources' values, and the arrays of a file read for
/// one refit are never written again), and computes everything else itself; so a stale or unused preparation can cost
/// time but never change a result.
/// </summary>
public sealed class RefitPreparation : IDisposable
{
    private readonly Engine _engine;
    private readonly EngineWeight[] _weights;
    private readonly int[] _waiting;
    private readonly float[][][] _sources;
    // By recipe: whether its first values match the engine's (it is compared in full before it is evaluated); its
    // buffer and parts once it is to be evaluated, and the next part to claim (both threads evaluate every part they
    // claim before the read returns, so a recipe with a buffer is whole then); whether a part found a value that is
    // not finite, or failed.
    private readonly bool[] _compare;
    private readonly float[]?[] _results;
    private readonly (int First, int End)[]?[] _parts;
    private readonly int[] _nextPart;
    private readonly bool[] _notFinite;
    private readonly bool[] _failed;
    // By recipe: whether it is evaluated as its first source arrives (Early), or waits for it whole (Later), once a
    // thread has decided; and how many of its parts have all their sources in.
    private readonly int[] _timing;
    private readonly int[] _available;
    private const int Early = 1, Later = 2;
    // The arrays being read, by model weight index; how many of each one's first elements are in, the ranges in past
    // those (pieces read by the other thread ahead of them), and whether it is whole (all under the lock of _ahead).
    private readonly float[]?[] _read;
    private readonly long[] _arrived;
    private readonly List<(long Start, long End)>?[] _ahead;
    private readonly bool[] _whole;
    private readonly BlockingCollection<int> _ready = [];
    // The file's opening (on the calling thread, which it names; the other waits for it), whether it has been claimed
    // and has returned; the items: how many, the read of one, the next to claim, how many are read; the first failure
    // of the opening or a read; whether the retired set has been handed back.
    private Func<int>? _open;
    private int _opened, _recycled;
    private int _items, _nextItem, _itemsDone;
    private Action<int>? _readItem;
    private ExceptionDispatchInfo? _readFailure;
    private readonly ModelValues _current;
    // Whether packed results are streamed, as a refit of the whole engine would write them.
    private readonly bool _stream;

    /// <summary>A preparation for <paramref name="engine"/>'s next refit; <see cref="WhileReading"/> runs it. Refused once the engine is disposed.</summary>
    public RefitPreparation(Engine engine)
    {
        _engine = engine;
        // The live state: a disposed engine's has no model values by index, which the reading threads would index out
        // of range (a read for a disposed engine failed with IndexOutOfRangeException, not EngineDisposedException).
        // An engine disposed later leaves these values to compare with: a stale comparison costs time, never a result.
        _current = engine.LiveState.ModelValues;
        _weights = engine.Plan.Weights;
        _waiting = Array.ConvertAll(engine.Plan.RecipeSources, s => s.Length);
        _sources = new float[_weights.Length][][];
        _compare = new bool[_weights.Length];
        _results = new float[_weights.Length][];
        _parts = new (int, int)[_weights.Length][];
        _nextPart = new int[_weights.Length];
        _notFinite = new bool[_weights.Length];
        _failed = new bool[_weights.Length];
        _timing = new int[_weights.Length];
        _available = new int[_weights.Length];
        _read = new float[engine.Plan.ModelWeights.Length][];
        _arrived = new long[_read.Length];
        _ahead = new List<(long, long)>[_read.Length];
        _whole = new bool[_read.Length];
        _stream = RecipeEvaluation.Streams(engine.WeightBytes / sizeof(float));
    }

    /// <summary>
    /// Elements [<paramref name="start"/>, <paramref name="end"/>) of a model weight's values have been read into
    /// <paramref name="values"/> (from either reading thread; a whole weight at once, or its pieces in any order). A
    /// name the engine lacks, a second array under one name or values of the wrong length prepare nothing: the refit
    /// checks and reports those.
    /// </summary>
    public void Supply(string name, float[] values, int start, int end)
    {
        var plan = _engine.Plan;
        if (_ready.IsAddingCompleted || !plan.ModelWeightIndex.TryGetValue(name, out int m) || plan.ModelWeights[m].ElementCount != values.LongLength
            || Interlocked.CompareExchange(ref _read[m], values, null) is { } other && other != values)
            return;
        bool whole;
        long arrived;
        lock (_ahead)
        {
            if (_whole[m]) return;
            Arrive(m, start, end);
            (arrived, whole) = (_arrived[m], _whole[m] = _arrived[m] == values.LongLength);
        }
        foreach (int i in plan.RecipeUsers[m])
        {
            if (!whole)
                EvaluateArrived(i, m, arrived);
            else if (Interlocked.Decrement(ref _waiting[i]) == 0)
            {
                _sources[i] ??= Array.ConvertAll(plan.RecipeSources[i], s => _read[s]!);
                Queue(i);
            }
        }
    }

    /// <summary>Records elements [start, end) of model weight m as read, advancing how many of its first elements are in.</summary>
    private void Arrive(int m, long start, long end)
    {
        var ahead = _ahead[m] ??= [];
        ahead.Add((start, end));
        for (int k; (k = ahead.FindIndex(r => r.Start <= _arrived[m])) >= 0; ahead.RemoveAt(k))
            _arrived[m] = Math.Max(_arrived[m], ahead[k].End);
    }

    /// <summary>
    /// Evaluates, on this thread while they are in its cache, the parts of recipe <paramref name="i"/> whose share of
    /// its first source (model weight <paramref name="m"/>, read up to element <paramref name="arrived"/>) is in: for
    /// a recipe whose other sources are all whole and whose first values differ from the engine's (decided once). A
    /// large weight read in pieces is then packed as it lands, and the read does not end with one left to pack whole.
    /// </summary>
    private void EvaluateArrived(int i, int m, long arrived)
    {
        var plan = _engine.Plan;
        if (_weights[i].Recipe.Kind == RecipeKind.Identity || plan.RecipeSources[i][0] != m || Volatile.Read(ref _waiting[i]) != 1 || arrived == 0)
            return;
        if (Volatile.Read(ref _timing[i]) == 0)
        {
            var sources = Array.ConvertAll(plan.RecipeSources[i], s => _read[s]!);
            bool differs = FirstValuesDiffer(i, sources);
            if (Interlocked.CompareExchange(ref _timing[i], differs ? Early : Later, 0) != 0 || !differs) return;
            _sources[i] = sources;
            ToEvaluate(i, early: true);
        }
        if (Volatile.Read(ref _timing[i]) != Early || Volatile.Read(ref _parts[i]) is not { } parts) return;
        arrived = Volatile.Read(ref _arrived[m]);
        var recipe = _weights[i].Recipe;
        int available = Math.Min(parts.Length, Volatile.Read(ref _available[i]));
        while (available < parts.Length && recipe.SourceRange(parts[available].First, parts[available].End, _sources[i][0].LongLength) is { } range && range.End <= arrived)
            available++;
        // Raised, never lowered: the thread that completes the source sets it past every part.
        for (int now; (now = Volatile.Read(ref _available[i])) < available && Interlocked.CompareExchange(ref _available[i], available, now) != now;) { }
        EvaluateParts(i);
    }

    /// <summary>
    /// Queues a recipe whose sources are all read. One whose first values already differ from the engine's gets its
    /// buffer and parts here; the full comparison of values that may be equal is left to the evaluation, off the read.
    /// </summary>
    private void Queue(int i)
    {
        // One evaluated as it arrived has its buffer (or is about to, on the thread that decided so): all its parts are in now.
        if (Interlocked.CompareExchange(ref _timing[i], Later, 0) == Early)
            Volatile.Write(ref _available[i], int.MaxValue);
        else if (_weights[i].Recipe.Kind != RecipeKind.Identity)
        {
            if (FirstValuesDiffer(i, _sources[i])) ToEvaluate(i);
            else _compare[i] = true;
        }
        _ready.Add(i);
    }

    /// <summary>Whether one of recipe <paramref name="i"/>'s sources starts with a value unlike the engine's (or the engine has none).</summary>
    private bool FirstValuesDiffer(int i, float[][] sources)
    {
        int[] models = _engine.Plan.RecipeSources[i];
        for (int s = 0; s < models.Length; s++)
            if (_current[models[s]] is not { } now || !WeightScan.SameFirstBits(now, sources[s])) return true;
        return false;
    }

    /// <summary>
    /// Rents recipe <paramref name="i"/>'s buffer and lists its parts, for whichever thread claims them: all of them,
    /// or (<paramref name="early"/>) those whose sources are in, more as its first source arrives.
    /// </summary>
    private void ToEvaluate(int i, bool early = false)
    {
        var parts = RecipeEvaluation.Parts(_weights[i], PartFloats);
        _results[i] = WeightPool.Rent(checked((int)_weights[i].Length));
        if (!early) Volatile.Write(ref _available[i], int.MaxValue);
        Volatile.Write(ref _parts[i], parts);
    }

    /// <summary>
    /// Opens the file with <paramref name="open"/> on the calling thread, which returns how many items it holds, then
    /// reads items 0 to that count − 1 (<paramref name="read"/> calls <see cref="Supply"/> as weights arrive, and may
    /// run on both threads at once) and evaluates the recipes as their weights arrive, on the engine's worker pool,
    /// whose thread wakes sooner than a thread-pool task (those took 100–150 µs to start, a sixth of a SqueezeNet
    /// read); the results are then offered to the engine's next refit. A pool busy elsewhere runs it all on the calling
    /// thread. A failed opening or read stops the claiming of items and is thrown once both threads are done.
    /// </summary>
    public void WhileReading(Func<int> open, Action<int> read)
    {
        (_open, _readItem) = (open, read);
        _engine.Pool.For(2, new ReadAndEvaluate(this));
        _readFailure?.Throw();
        lock (_engine) _engine.Preparation = this;
    }

    private sealed class ReadAndEvaluate(RefitPreparation preparation) : IParallelTask
    {
        public void Execute(int index)
        {
            preparation.OpenOrRecycle(opens: index == 0);
            preparation.ReadAndEvaluateItems();
        }
    }

    /// <summary>
    /// On the calling thread, opens the file; on the other, meanwhile, hands back the buffers of the weight set the last
    /// refit swapped out, once no inference holds it, for the recipes to rent (the refit would lend them only to the
    /// recipes it runs itself: without them every refit from a file made a new set until the pool caught up, ResNet-18's
    /// third refit from safetensors 117–164 ms against 13–14 ms, and a loop held three packed sets), then waits for the
    /// opening. So the worker's wake and that hand-back overlap the parse of the file's header, instead of coming
    /// before and after it (SqueezeNet's first read began 133 µs into a refit of 1,200). A calling thread that gets
    /// there first hands the set back itself before it reads.
    /// </summary>
    private void OpenOrRecycle(bool opens)
    {
        if (opens)
        {
            try
            {
                _items = _open!();
            }
            catch (Exception e)
            {
                (_readFailure, _items) = (ExceptionDispatchInfo.Capture(e), 0);
            }
            if (_items == 0) _ready.CompleteAdding();
            Volatile.Write(ref _opened, 1);
        }
        if (Interlocked.Exchange(ref _recycled, 1) == 0) _engine.RecycleRetired();
        // Never a sleep of a millisecond: the opening takes tens of microseconds.
        var spinner = new SpinWait();
        while (Volatile.Read(ref _opened) == 0) spinner.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>
    /// Claims items until none is left, evaluating after each read what it queued, while its sources are in this
    /// core's cache (reading SqueezeNet's and ResNet-18's safetensors on one thread while the other packed, the reader
    /// still had the 2 MB classifier to read when the packer ran dry); then helps finish the recipes.
    /// </summary>
    private void ReadAndEvaluateItems()
    {
        for (int j; (j = Interlocked.Increment(ref _nextItem) - 1) < _items;)
        {
            if (Volatile.Read(ref _readFailure) is null)
            {
                try
                {
                    _readItem!(j);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _readFailure, ExceptionDispatchInfo.Capture(e), null);
                }
            }
            if (Interlocked.Increment(ref _itemsDone) == _items) _ready.CompleteAdding();
            else while (_ready.TryTake(out int i)) EvaluateRecipe(i);
        }
        Evaluate();
    }

    /// <summary>Parts of about this many floats or more (a recipe's panels where they are larger): small enough that the two threads finish together.</summary>
    internal const long PartFloats = 1 << 15;

    /// <summary>How long a thread with nothing left to read polls for the next recipe before it sleeps: waking it costs the reading thread a system call per weight.</summary>
    private static readonly long PollTicks = Stopwatch.Frequency / 20_000;

    /// <summary>
    /// Takes recipes as they are queued (those the other reading thread left, then all); once every one is taken, helps
    /// with the parts of any still being evaluated, so the two threads finish together.
    /// </summary>
    private void Evaluate()
    {
        while (Next() is int i) EvaluateRecipe(i);
        for (int i = 0; i < _parts.Length; i++)
            if (Volatile.Read(ref _parts[i]) is not null) EvaluateParts(i);
    }

    private void EvaluateRecipe(int i)
    {
        if (_weights[i].Recipe.Kind == RecipeKind.Identity) ProveFinite(_sources[i][0]);
        else if (!_compare[i] || Differs(i)) EvaluateParts(i);
    }

    /// <summary>Evaluates the parts of recipe <paramref name="i"/> whose sources are in and no thread has claimed; a failure is left to the refit, which computes it again and reports what is wrong, if anything.</summary>
    private void EvaluateParts(int i)
    {
        // Null while the thread that decided to evaluate it as it arrives rents its buffer: that thread goes on to its parts.
        if (Volatile.Read(ref _parts[i]) is not { } parts) return;
        for (int p; (p = Volatile.Read(ref _nextPart[i])) < Math.Min(parts.Length, Volatile.Read(ref _available[i]));)
        {
            if (Interlocked.CompareExchange(ref _nextPart[i], p + 1, p) != p) continue;
            try
            {
                if (!_weights[i].Recipe.Evaluate(_sources[i], _results[i]!, parts[p].First, parts[p].End, _stream)) _notFinite[i] = true;
            }
            catch (Exception)
            {
                _failed[i] = true;
            }
        }
    }

    /// <summary>
    /// Whether a recipe whose first values matched the engine's differs after all (then its buffer and parts are set):
    /// what matches bit for bit a refit does not recompute (stale values only cost time).
    /// </summary>
    private bool Differs(int i)
    {
        int[] sources = _engine.Plan.RecipeSources[i];
        for (int s = 0; s < sources.Length; s++)
            if (_current[sources[s]] is not { } now || !WeightScan.SameBits(now, _sources[i][s]))
            {
                ToEvaluate(i);
                return true;
            }
        return false;
    }

    /// <summary>
    /// Marks a value read from the file finite in the pool's record of its buffer (a refit then takes it unscanned);
    /// small values are left to the refit, whose scan of them costs less than the mark.
    /// </summary>
    private static void ProveFinite(float[] value)
    {
        if (value.Length >= Refitter.ScanOnceFloats && WeightScan.FirstNonFinite(value) < 0) WeightPool.MarkFinite(value);
    }

    /// <summary>The next recipe queued, or null once the reading has ended and every one is taken.</summary>
    private int? Next()
    {
        // Polls the count (a plain read), not the collection, so a reading thread's adds do not wait on its lock.
        long until = Stopwatch.GetTimestamp() + PollTicks;
        while (_ready.Count == 0 && !_ready.IsAddingCompleted && Stopwatch.GetTimestamp() < until) Thread.SpinWait(16);
        return _ready.TryTake(out int i, Timeout.Infinite) ? i : null;
    }

    /// <summary>
    /// The result of engine weight <paramref name="weight"/>'s recipe if it was computed in full from exactly these
    /// source arrays (<paramref name="values"/>: the model values by index), or, for a source, from the immutable array
    /// the refit was given for it (<paramref name="given"/>) and kept the engine's value instead, having found the two
    /// bit for bit equal (a checkpoint that leaves a BatchNormalization's parameters as they were and changes the
    /// convolution's weight); the caller owns the buffer from then on. Called under the engine's refit lock, after
    /// <see cref="WhileReading"/>.
    /// </summary>
    /// <param name="finite">Whether the recipe found its first source's values finite.</param>
    internal bool TryTake(int weight, float[]?[] values, WeightValue?[] given, [NotNullWhen(true)] out float[]? buffer, out bool finite)
    {
        (buffer, finite) = (null, false);
        if (_results[weight] is not { } result || _failed[weight]) return false;
        int[] sources = _engine.Plan.RecipeSources[weight];
        for (int s = 0; s < sources.Length; s++)
        {
            var read = _sources[weight][s];
            if (!ReferenceEquals(values[sources[s]], read) && !(given[sources[s]] is { Immutable: true } value && ReferenceEquals(value.Data, read)))
                return false;
        }
        (buffer, finite, _results[weight]) = (result, !_notFinite[weight], null);
        return true;
    }

    /// <summary>How many of engine weight <paramref name="weight"/>'s parts a thread has taken to evaluate (for tests).</summary>
    internal int PartsClaimed(int weight) => Math.Min(Volatile.Read(ref _nextPart[weight]), _parts[weight]?.Length ?? 0);

    /// <summary>Results computed and not taken by a refit (for tests).</summary>
    internal int Untaken => _results.Count(r => r is not null);

    /// <summary>Withdraws the offer and hands back the results no refit took.</summary>
    public void Dispose()
    {
        lock (_engine)
        {
            if (ReferenceEquals(_engine.Preparation, this)) _engine.Preparation = null;
            WeightPool.Return(null, _results.OfType<float[]>());
            Array.Clear(_results);
        }
        _ready.Dispose();
    }
}
