namespace TrtEngine.Native.Runtime;

/// <summary>
/// An engine's copies of callers' arrays (the model values a refit must copy, since the caller may change them),
/// recycled within the engine: the copy a refit replaces waits, reachable from no state, for the next copy of the same
/// model weight. A loop that refits from a caller's arrays then writes two buffers per weight in turn, without renting
/// from and returning to <see cref="WeightPool"/> (a lock and a weak-table lookup per array: about 5% of tiny_mlp's
/// refit from a caller's arrays). Guarded by the engine's refit lock, but for <see cref="Take"/>, which refits call for
/// distinct weights at once.
/// </summary>
internal sealed class CopyRecycler(int modelWeights)
{
    /// <summary>Which of the current state's model values are the engine's own copies (no one else can reach them).</summary>
    private readonly bool[] _current = new bool[modelWeights];

    /// <summary>Replaced copies by model weight index: owned by the engine, held by no state.</summary>
    private readonly float[]?[] _spare = new float[modelWeights][];

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

    /// <summary>
    /// Records what the state just swapped in holds for model weight <paramref name="m"/> (<paramref name="copy"/>: the
    /// engine's own copy of a caller's array); whether the value it replaced was one.
    /// </summary>
    public bool Swapped(int m, bool copy)
    {
        bool was = _current[m];
        _current[m] = copy;
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

    /// <summary>The current values are lent to holders the engine cannot follow: none of them is recycled from now on.</summary>
    public void Lend() => Array.Clear(_current);

    /// <summary>Takes the spare copies, for the engine to hand back to the pool when it is disposed.</summary>
    public IEnumerable<float[]> Drain()
    {
        var spares = _spare.OfType<float[]>().ToList();
        Array.Clear(_spare);
        return spares;
    }
}
