namespace TrtEngine.Native.Kernels;

public readonly record struct GemmTactic(int Id, string Name, int Mr, int Nr);
