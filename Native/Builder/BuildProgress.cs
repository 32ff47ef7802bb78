namespace TrtEngine.Native.Builder;

/// <summary>A step of a build: the phase, how far it is, and what it is working on.</summary>
public readonly record struct BuildProgress(string Phase, int Current, int Total, string Detail);
