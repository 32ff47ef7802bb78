namespace TrtEngine.Native.Runtime;

/// <summary>An engine was used after it was disposed (its weight buffers may already serve another engine).</summary>
public sealed class EngineDisposedException(string engineName)
    : ObjectDisposedException(engineName, $"Engine '{engineName}' has been disposed: it cannot run, refit or export any more. Create it again (New-TrtEngine or Import-TrtEngine).");
