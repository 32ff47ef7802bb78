namespace TrtEngine.Native.Refit;

/// <summary>A supplied weight that does not fit the engine: why, in words a user can act on.</summary>
public sealed record WeightMismatch(string Name, string Problem)
{
    public override string ToString() => $"'{Name}': {Problem}";
}
