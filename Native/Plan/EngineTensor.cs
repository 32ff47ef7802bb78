namespace TrtEngine.Native.Plan;

/// <summary>An activation tensor of an engine; Dims has -1 where the size is known only at run time.</summary>
public sealed record EngineTensor(string Name, int[] Dims);
