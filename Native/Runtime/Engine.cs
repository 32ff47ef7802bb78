using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Runtime;

/// <summary>
/// A built engine: a plan (structure, tactics, recipes) and, unless it was loaded weight-stripped, its weights.
/// Every engine is refittable: the recipes travel with the plan whether or not the weights do. Disposing it (or its
/// collection) hands the weight buffers it alone holds to <see cref="WeightPool"/> for the engines made next.
/// </summary>
public sealed class Engine : IDisposable
{
    /// <summary>The state of every disposed engine: it has nothing, and every use is refused.</summary>
    private static readonly State Disposed = new(null, new ModelValues(new Dictionary<string, int>(), []), new HashSet<string>());

    private State _state;

    /// <summary>Calls between <see cref="EnterState"/> and <see cref="ExitState"/>, on any weight set: a dispose recycles nothing while one runs.</summary>
    private int _readers;

    /// <summary>
    /// What a refit replaces, in one reference so readers see a consistent whole: the weight buffers (null when
    /// stripped), the model weights they derive from (by index, readable by name), and which of those hold NaN or infinity (accepted
    /// once, they are checked again whenever supplied, but for a constant of the graph given unchanged). Model values are never changed in place; they are known
    /// for every weight after a build or a refit; a loaded plan knows only its Constant-node weights, which travel
    /// even in stripped plans (they are part of the graph, not of a checkpoint), so a checkpoint that lacks them can
    /// still refit. Never mutated: a refit builds a new state, sharing whatever did not change.
    /// </summary>
    internal sealed record State(WeightSet? Weights, ModelValues ModelValues, IReadOnlySet<string> NonFinite)
    {
        public State(WeightSet? weights, ModelValues modelValues)
            : this(weights, modelValues, Refit.WeightScan.NonFinite(modelValues)) { }
    }

    /// <summary>An engine that owns its weights: what of them came from <see cref="WeightPool"/> goes back there when it is disposed.</summary>
    internal Engine(EnginePlan plan, WeightSet? weights, IReadOnlyDictionary<string, float[]> modelValues)
        : this(plan, new State(weights, ModelValues.From(plan.ModelWeightIndex, modelValues))) => WeightPool.Claim(this, Arrays(_state));

    /// <summary>An engine over a given state it does not own; a refit runs such a detached candidate before swapping its state in.</summary>
    internal Engine(EnginePlan plan, State state)
    {
        Plan = plan;
        _state = state;
        Pool = plan.Hardware.Threads == WorkerPool.Shared.ThreadCount ? WorkerPool.Shared : SharedPools.Get(plan.Hardware.Threads);
        Owned = new OwnedValues(plan.ModelWeights.Length);
    }

    public EnginePlan Plan { get; }

    public bool HasWeights => CurrentWeights is not null;

    /// <summary>Bytes of the engine's weights in the kernels' layouts (what a full plan carries).</summary>
    public long WeightBytes
    {
        get
        {
            long total = 0;
            foreach (var w in Plan.Weights) total += w.Length * sizeof(float);
            return total;
        }
    }

    /// <summary>Bytes of the weights a refit computes: those its recipes derive, not the model values it takes as they are.</summary>
    public long DerivedWeightBytes
    {
        get
        {
            long total = 0;
            foreach (var w in Plan.Weights)
                if (w.Recipe.Kind != RecipeKind.Identity) total += w.Length * sizeof(float);
            return total;
        }
    }

    internal WorkerPool Pool { get; }

    internal State CurrentState => Volatile.Read(ref _state);

    public bool IsDisposed => ReferenceEquals(CurrentState, Disposed);

    /// <summary>The current state for a refit or a check, refused once the engine is disposed.</summary>
    internal State LiveState => CurrentState is var state && ReferenceEquals(state, Disposed) ? throw new EngineDisposedException(Plan.Name) : state;

    internal WeightSet? CurrentWeights => CurrentState.Weights;

    /// <summary>
    /// Makes <paramref name="state"/> current and this engine the owner of the pooled buffers among
    /// <paramref name="fresh"/> (what the state holds that the current one does not) no one owns yet; called under the
    /// refit lock.
    /// </summary>
    /// <param name="owned">Set, by position in <paramref name="fresh"/>, to whether the engine owns the buffer afterwards.</param>
    internal void Swap(State state, List<float[]> fresh, Span<bool> owned)
    {
        if (ReferenceEquals(CurrentState, Disposed)) throw new EngineDisposedException(Plan.Name);
        // The pool's lock is not taken for nothing: a refit from a caller's arrays writes into buffers the engine owns already.
        if (fresh.Count > 0) WeightPool.Claim(this, fresh, owned);
        // A full fence: the holds read after it (the swapped-out set's, below, and a refit's) are read after a call
        // that counts its hold and then reads the state would find the new one.
        var before = Interlocked.Exchange(ref _state, state);
        if (_heldSwappedOut.Count > 0) _heldSwappedOut.RemoveAll(s => !s.Weights!.IsHeld);
        if (before.Weights is { IsHeld: true } && !ReferenceEquals(before.Weights, state.Weights)) _heldSwappedOut.Add(before);
    }

    /// <summary>
    /// States swapped out while a call held their weight set, until it lets go; guarded by the refit lock. Sets share
    /// the buffers and model values a refit leaves unchanged, so a set swapped out two refits ago may share buffers with
    /// one a call still reads: a refit reuses or hands back none of those (a QA helper found inferences mixing weights,
    /// and held buffers handed to other engines, while only the spare set's own holders were counted). A set swapped
    /// out with no holder never gets one (a call that finds the state changed lets go before it reads).
    /// </summary>
    private readonly List<State> _heldSwappedOut = [];

    /// <summary>Whether a swapped-out state a call still holds has <paramref name="buffer"/> as engine weight <paramref name="weight"/>.</summary>
    internal bool HeldElsewhere(int weight, float[] buffer)
    {
        // Loops, not Any with a lambda: its closure cost every refit an allocation, with this list empty nearly always.
        foreach (var state in _heldSwappedOut)
            if (state.Weights!.IsHeld && ReferenceEquals(state.Weights.Buffers[weight], buffer)) return true;
        return false;
    }

    /// <summary>Whether a swapped-out state a call still holds has <paramref name="value"/> as model value <paramref name="model"/>.</summary>
    internal bool ValueHeldElsewhere(int model, float[] value)
    {
        foreach (var state in _heldSwappedOut)
            if (state.Weights!.IsHeld && ReferenceEquals(state.ModelValues[model], value)) return true;
        return false;
    }

    /// <summary>
    /// The current state with its weight set held against reuse until <see cref="ExitState"/>: the hold is taken, then
    /// the state is read again, so a set that a refit swapped out meanwhile is never used (and a refit that sees no
    /// holder of a swapped-out set knows no one will use it again).
    /// </summary>
    internal State EnterState()
    {
        // Counted before the state is read, as Dispose swaps the state before it reads the count: one of the two sees the other.
        Interlocked.Increment(ref _readers);
        while (true)
        {
            var state = CurrentState;
            if (ReferenceEquals(state, Disposed))
            {
                Interlocked.Decrement(ref _readers);
                throw new EngineDisposedException(Plan.Name);
            }
            state.Weights?.Enter();
            if (ReferenceEquals(state, CurrentState)) return state;
            state.Weights?.Exit();
        }
    }

    internal void ExitState(State state)
    {
        state.Weights?.Exit();
        Interlocked.Decrement(ref _readers);
    }

    /// <summary>The weight set the last refit swapped out, whose buffers the next refit may reuse; guarded by the refit lock.</summary>
    internal WeightSet? Retired { get; set; }

    /// <summary>
    /// Hands the buffers of the set the last refit swapped out back to the pool once no inference holds it (but those
    /// the current set shares, and model values), for work that rents buffers before the next refit.
    /// </summary>
    internal void RecycleRetired()
    {
        lock (this)
            if (Retired is { IsHeld: false } retired && !ReferenceEquals(CurrentState, Disposed))
            {
                Retired = null;
                Refit.Refitter.ReturnSpares(this, retired, buffers: null, CurrentState.Weights);
            }
    }

    /// <summary>Which current model values are the engine's own, and its spare copies of callers' arrays; guarded by the refit lock.</summary>
    internal OwnedValues Owned { get; }

    /// <summary>The bookkeeping of this engine's refits, made at the first; guarded by the refit lock.</summary>
    internal Refit.RefitWorkspace RefitWorkspace => _refitWorkspace ??= new(Plan.ModelWeights.Length, Plan.Weights.Length);

    private Refit.RefitWorkspace? _refitWorkspace;

    /// <summary>Recipes evaluated while a file was read, offered to the next refit; guarded by the refit lock.</summary>
    internal Refit.RefitPreparation? Preparation { get; set; }

    public ExecutionContext CreateExecutionContext() => new(this);

    /// <summary>A context that shares moderate GEMMs or not, whatever the plan says: for the builder, which times both.</summary>
    internal ExecutionContext CreateExecutionContext(bool moderateGemmsShared) => new(this, moderateGemmsShared);

    /// <summary>A copy with another name and input/output names; it shares the weights' current state at the time of the call.</summary>
    public Engine WithNames(string name, IReadOnlyList<string> inputNames, IReadOnlyList<string> outputNames)
    {
        var state = LendState(shareWeights: true);
        return new(Plan.WithNames(name, inputNames, outputNames), state);
    }

    /// <summary>
    /// The current state for a holder this engine cannot follow (another engine, a caller's dictionary of model
    /// values): its buffers are never recycled from now on. Refused once disposed; serialized with Dispose by the refit lock.
    /// </summary>
    /// <param name="shareWeights">
    /// The holder runs the engine weights too (another engine): the set is marked shared under the lock, before a refit
    /// could retire it and reuse its buffers.
    /// </param>
    internal State LendState(bool shareWeights = false)
    {
        lock (this)
        {
            var state = CurrentState;
            if (ReferenceEquals(state, Disposed)) throw new EngineDisposedException(Plan.Name);
            WeightPool.Keep(Arrays(state));
            Owned.Lend();
            if (shareWeights) state.Weights?.MarkShared();
            return state;
        }
    }

    /// <summary>
    /// Refuses every later use and hands the pooled buffers this engine alone owns (its weights, the spare set, its
    /// model values) back for reuse, unless a call holds a weight set at that moment: then they are left to the GC.
    /// </summary>
    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    /// <summary>An engine no one can reach any longer hands its buffers back too: callers that never dispose (scripts) still recycle.</summary>
    ~Engine() => Release();

    private void Release()
    {
        lock (this)
        {
            var last = Interlocked.Exchange(ref _state, Disposed);
            if (ReferenceEquals(last, Disposed) || Volatile.Read(ref _readers) != 0) return;
            var retired = Retired;
            Retired = null;
            WeightPool.Return(this, Arrays(last).Concat(retired?.Buffers ?? []).Concat(Owned.Drain()));
        }
    }

    /// <summary>Every array of a state: its engine weights and its model values.</summary>
    private static IEnumerable<float[]> Arrays(State state) => (state.Weights?.Buffers ?? []).Concat(state.ModelValues.Values);

    /// <summary>Writes the plan; with <paramref name="includeWeights"/> false the result is weight-stripped but still refittable.</summary>
    public void Serialize(Stream stream, bool includeWeights)
    {
        var state = EnterState();
        try
        {
            var constants = Plan.ModelWeights.Where(m => m.Kind == WeightKind.Constant).ToDictionary(m => m.Name, m => state.ModelValues[m.Name], StringComparer.Ordinal);
            PlanSerializer.Write(stream, Plan, constants, includeWeights ? state.Weights : null);
        }
        finally
        {
            ExitState(state);
        }
    }

    public byte[] Serialize(bool includeWeights)
    {
        using var ms = new MemoryStream();
        Serialize(ms, includeWeights);
        return ms.ToArray();
    }

    public static Engine Deserialize(ReadOnlyMemory<byte> bytes)
    {
        var (plan, constants, weights) = PlanSerializer.Read(bytes);
        return new Engine(plan, weights, constants);
    }

    /// <summary>Worker pools for engines timed with a thread count other than the machine's, one per count.</summary>
    private static class SharedPools
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, WorkerPool> Pools = new();

        // More threads than processors buys nothing, and a plan read from a file must not start thousands of threads.
        public static WorkerPool Get(int threads) => Pools.GetOrAdd(Math.Clamp(threads, 1, Environment.ProcessorCount), n => new WorkerPool(n));
    }
}
