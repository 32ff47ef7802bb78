using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// Removing the module (Remove-Module, or Import-Module -Force) disposes the engines its cmdlets made in that runspace
/// that are still alive, and lets the GC take the weight buffers the process kept for engines to come. Engines made in
/// other live runspaces are theirs, and left alone; so are those whose runspace is gone (a finished ForEach-Object
/// -Parallel's), which may have been handed to a runspace that still uses them (a QA helper found one disposed under
/// the session using it): one no one holds hands its buffers back when collected.
/// </summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    private static readonly List<(WeakReference<Runspace> Runspace, WeakReference<Core.Engines.TrtEngine> Engine)> Made = [];

    /// <summary>Remembers an engine a cmdlet is about to write, with the runspace it runs in.</summary>
    internal static void Track(Core.Engines.TrtEngine engine)
    {
        lock (Made)
        {
            // A loop that makes engine after engine must not grow the list: the collected ones go first.
            if (Made.Count >= 64 && (Made.Count & (Made.Count - 1)) == 0) Made.RemoveAll(m => !m.Engine.TryGetTarget(out _));
            Made.Add((new(Runspace.DefaultRunspace), new(engine)));
        }
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        var removing = Runspace.DefaultRunspace;
        List<Core.Engines.TrtEngine> engines = [];
        lock (Made)
            Made.RemoveAll(m =>
            {
                bool alive = m.Runspace.TryGetTarget(out var runspace), ours = alive && ReferenceEquals(runspace, removing);
                if (ours && m.Engine.TryGetTarget(out var engine)) engines.Add(engine);
                return !alive || ours || !m.Engine.TryGetTarget(out _);
            });
        foreach (var engine in engines) engine.Dispose();
        Core.Engines.TrtEngine.ReleasePooledBuffers();
    }
}
