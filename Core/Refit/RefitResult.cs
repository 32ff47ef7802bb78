namespace TrtEngine.Core.Refit;

/// <summary>What a refit did: how many model weights it took and how many engine weights it recomputed, and how long it took.</summary>
public sealed record RefitResult(string EngineName, int ModelWeights, int EngineWeightsRecomputed, TimeSpan Duration);
