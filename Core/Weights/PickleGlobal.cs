namespace TrtEngine.Core.Weights;

/// <summary>A class or function a pickle names (module and qualified name); never imported or called.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}
