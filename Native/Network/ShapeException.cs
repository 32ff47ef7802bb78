namespace TrtEngine.Native.Network;

/// <summary>Shapes that do not fit together: a network that cannot be built or an input that cannot be run.</summary>
public sealed class ShapeException(string message) : Exception(message);
