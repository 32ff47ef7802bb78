namespace TrtEngine.Native.Plan;

/// <summary>A weight the engine's kernels read, in their layout; its bytes live in a WeightSet, its recipe in the plan.</summary>
public sealed record EngineWeight(string Name, int[] Shape, WeightRecipe Recipe, long Length);
