namespace TrtEngine.Native.Runtime;

/// <summary>
/// Which of an engine's current model values it owns, and so may reuse once a refit replaces them: its copies of
/// callers' arrays (the model values a refit must copy, since the caller may change them), which it recycles itself,
/// and the pool's buffers it was handed (a weight file's values it adopted), which go back to <see cref="WeightPool"/>.
/// A copy a refit replaces waits, reachable from no state, for the next copy of the same model weight: a loop that
/// refits from a caller's arrays writes two buffers per weight in turn, without renting from and returning to the pool
/// (a lock and a weak-table lookup per array: about 5% of tiny_mlp's refit from a caller's arrays). A value the engine
/// does not own (a checkpoint the pool keeps, a caller's immutable array) is not offered to the pool at all (4% of that
/// refit when it replaces a parsed checkpoint's values). Guarded by the engine's refit lock, but for <see cref="Take"/>,
/// which refits call for distinct weights at once.
/// </summary>
internal sealed class OwnedValues
{
    /// <summary>How the engine holds a current model value.</summary>
    public enum Ownership : byte
    {
        /// <summary>Maybe a pool buffer the engine owns: the pool, which knows, is asked (what a build's values are).</summary>
        Pool,

        /// <summary>The engine's own copy of a caller's array: no one else can reach it.</summary>
        Copy,

        /// <summary>Not the engine's: someone else's array, or one the pool keeps.</summary>
        None,
    }

    /// <summary>By model weight index, how the current state's value is held.</summary>
    private readonly Ownership[] _current;

    /// <summary>Replaced copies by model weight index: owned by the engine, held by no state.</summary>
    private readonly float[]?[] _spare;

    public OwnedValues(int modelWeights) => (_current, _spare) = (new Ownership[modelWeights], new float[modelWeights][]);

    /// <summary>A buffer the engine owns for a new copy of model weight <paramref name="m"/>: the spare one, or one rented in its name.</summary>
    public float[] Take(int m, int length, Engine owner)
    {
        if (_spare[m] is { } spare && spare.Length == length)
        {
            _spare[m] = null;
            return spare;
        }
        return WeightPool.Rent(length, owner);
    }

    /// <summary>Records how the engine holds the value the state just swapped in for model weight <paramref name="m"/>; how it held the one it replaced.</summary>
    public Ownership Swapped(int m, Ownership now)
    {
        var was = _current[m];
        _current[m] = now;
        return was;
    }

    /// <summary>
    /// Keeps a replaced copy of model weight <paramref name="m"/>, which no state holds and no reader can still see, for
    /// its next copy; false when one waits there already (the caller hands it back to the pool).
    /// </summary>
    public bool Keep(int m, float[] copy)
    {
        if (_spare[m] is not null) return false;
        _spare[m] = copy;
        return true;
    }

    /// <summary>The current values are lent to holders the engine cannot follow (the pool keeps them): none of them is recycled from now on.</summary>
    public void Lend() => Array.Fill(_current, Ownership.None);

    /// <summary>Takes the spare copies, for the engine to hand back to the pool when it is disposed.</summary>
    public IEnumerable<float[]> Drain()
    {
        var spares = _spare.OfType<float[]>().ToList();
        Array.Clear(_spare);
        return spares;
    }
}
