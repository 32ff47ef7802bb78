namespace TrtEngine.Native.Refit;

/// <summary>
/// The bookkeeping a refit works in, kept by its engine from one refit to the next (guarded by the refit lock), so a
/// refit in a loop allocates little and collects seldom (tiny_mlp: 1.9 → 0.6 KB a refit, a third of the gen-0
/// collections). Cleared after every refit, so nothing of a caller's stays reachable from the engine.
/// </summary>
internal sealed class RefitWorkspace(int modelWeights, int engineWeights)
{
    // By model weight index.

    /// <summary>The supplied values.</summary>
    public readonly WeightValue?[] Given = new WeightValue?[modelWeights];

    /// <summary>The changed values the next state takes (a caller's array copied, or an immutable one as it is).</summary>
    public readonly float[]?[] Adopted = new float[modelWeights][];

    /// <summary>1 where a caller's array was copied and every value found finite on the way, 2 where copied unscanned.</summary>
    public readonly byte[] Copied = new byte[modelWeights];

    /// <summary>A caller's array that the recipes' pass copies (the one recipe that reads it does, as it reads).</summary>
    public readonly float[]?[] CopyFrom = new float[modelWeights][];

    /// <summary>Values a recipe found finite as it read them.</summary>
    public readonly bool[] ProvenFinite = new bool[modelWeights];

    /// <summary>How the engine held the value a change replaced.</summary>
    public readonly Runtime.OwnedValues.Ownership[] WasOwned = new Runtime.OwnedValues.Ownership[modelWeights];

    /// <summary>Supplied values to compare in full, and to copy where they differ.</summary>
    public readonly List<int> Pending = new(modelWeights);

    // By engine weight index.

    /// <summary>The source arrays of each recipe to run, reused (their sources count never changes).</summary>
    public readonly float[][]?[] Inputs = new float[engineWeights][][];

    /// <summary>A caller's array the recipe's first source is a copy of, made as the recipe reads it.</summary>
    public readonly float[]?[] CopyFirst = new float[engineWeights][];

    /// <summary>Whether the recipe found every value of its first source finite.</summary>
    public readonly bool[] FiniteSource = new bool[engineWeights];

    /// <summary>Engine weights whose recipes run in this refit.</summary>
    public readonly List<int> Evaluated = new(engineWeights);

    /// <summary>Recomputed weights whose model weight's values were shown finite another way (a preparation, a copy).</summary>
    public readonly List<int> FiniteAside = new(engineWeights);

    /// <summary>Engine weights whose buffers the recipes rent.</summary>
    public readonly List<int> Rented = new(engineWeights);

    /// <summary>What the engine will own from the swap on that it does not own yet.</summary>
    public readonly List<float[]> Fresh = new(engineWeights + modelWeights);

    /// <summary>By position in <see cref="Fresh"/>, whether the engine owns the buffer once swapped in.</summary>
    public readonly bool[] Claimed = new bool[engineWeights + modelWeights];

    /// <summary>The source arrays of engine weight <paramref name="i"/>'s recipe, which has <paramref name="count"/> sources.</summary>
    public float[][] InputsOf(int i, int count) => Inputs[i] ??= new float[count][];

    public void Clear()
    {
        Array.Clear(Given);
        Array.Clear(Adopted);
        Array.Clear(Copied);
        Array.Clear(CopyFrom);
        Array.Clear(ProvenFinite);
        Array.Clear(WasOwned);
        Pending.Clear();
        foreach (int i in Evaluated)
            if (Inputs[i] is { } inputs) Array.Clear(inputs);
        Array.Clear(CopyFirst);
        Array.Clear(FiniteSource);
        Evaluated.Clear();
        FiniteAside.Clear();
        Rented.Clear();
        Fresh.Clear();
        Array.Clear(Claimed);
    }
}
