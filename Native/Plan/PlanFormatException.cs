namespace TrtEngine.Native.Plan;

/// <summary>An engine plan that cannot be read: truncated, corrupt, from another format version, or inconsistent.</summary>
public sealed class PlanFormatException(string message) : Exception(message);
