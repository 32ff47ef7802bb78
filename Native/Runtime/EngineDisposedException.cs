namespace TrtEngine.Native.Runtime;

/// <summary>An engine was used after it was disposed (its weight buffers may already serve another engine).</summary>
/// <param name="role">How the call used it, where that is not plain ("source": another engine's refit read its weights).</param>
public sealed class EngineDisposedException(string engineName, string? role = null) : ObjectDisposedException(engineName, Describe(engineName, role))
{
    // ObjectDisposedException's own message adds "Object name: '…'." on a line of its own, which says it again.
    public override string Message => Describe(ObjectName, role);

    private static string Describe(string engineName, string? role) => role is null
        ? $"Engine '{engineName}' has been disposed: it cannot run, refit, export or be described any more. Create it again (New-TrtEngine or Import-TrtEngine)."
        : $"The {role} engine '{engineName}' has been disposed: give a live engine, or create it again (New-TrtEngine or Import-TrtEngine).";
}
