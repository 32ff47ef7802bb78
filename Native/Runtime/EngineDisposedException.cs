namespace TrtEngine.Native.Runtime;

/// <summary>An engine was used after it was disposed (its weight buffers may already serve another engine).</summary>
public sealed class EngineDisposedException(string engineName) : ObjectDisposedException(engineName, Describe(engineName))
{
    // ObjectDisposedException's own message adds "Object name: '…'." on a line of its own, which says it again.
    public override string Message => Describe(ObjectName);

    private static string Describe(string engineName) =>
        $"Engine '{engineName}' has been disposed: it cannot run, refit, export or be described any more. Create it again (New-TrtEngine or Import-TrtEngine).";
}
