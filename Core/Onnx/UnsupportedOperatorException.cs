namespace TrtEngine.Core.Onnx;

/// <summary>A model uses operators TrtEngine cannot convert; lists every one with the nodes that use it.</summary>
public sealed class UnsupportedOperatorException(string modelName, IReadOnlyDictionary<string, IReadOnlyList<string>> operators)
    : Exception($"Model '{modelName}' uses operators TrtEngine does not support: " +
                string.Join("; ", operators.Select(o => $"{o.Key} (nodes: {string.Join(", ", o.Value.Take(5))}{(o.Value.Count > 5 ? $", … {o.Value.Count} in all" : "")})")) +
                ". Export the model without them, or with an opset and options that express them through supported operators.")
{
    /// <summary>Operator type (with its domain when not the default) → names of the nodes that use it.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Operators { get; } = operators;
}
