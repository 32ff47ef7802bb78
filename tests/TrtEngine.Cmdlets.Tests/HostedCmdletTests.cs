using System.Management.Automation;
using System.Management.Automation.Runspaces;
using TrtEngine.Cmdlets.Support;

namespace TrtEngine.Cmdlets.Tests;

/// <summary>
/// The module's cmdlets in a runspace of this process (no pwsh started): the errors a pipeline sees, and the
/// engines a runspace's module removal disposes.
/// </summary>
public sealed class HostedCmdletTests
{
    private static readonly string Model = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../examples/models/tiny_mlp.onnx"));

    /// <summary>A runspace with every cmdlet of the module's assembly.</summary>
    private static Runspace OpenRunspace()
    {
        var state = InitialSessionState.CreateDefault2();
        foreach (var type in typeof(ModuleCleanup).Assembly.GetTypes())
            if (type.GetCustomAttributes(typeof(CmdletAttribute), false) is [CmdletAttribute cmdlet])
                state.Commands.Add(new SessionStateCmdletEntry($"{cmdlet.VerbName}-{cmdlet.NounName}", type, null));
        var runspace = RunspaceFactory.CreateRunspace(state);
        runspace.Open();
        return runspace;
    }

    private static Core.Engines.TrtEngine NewEngine(Runspace runspace)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddCommand("New-TrtEngine").AddParameter("Path", Model).AddParameter("NoCache").AddParameter("OptimizationLevel", 0);
        return (Core.Engines.TrtEngine)ps.Invoke().Single().BaseObject;
    }

    [Fact]
    public void A_failed_item_is_one_error_naming_the_item_and_the_pipeline_goes_on()
    {
        using var runspace = OpenRunspace();
        var engine = NewEngine(runspace);
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        // Two engines piped in: the first refit names a file that is not there, the second succeeds.
        ps.AddScript("param($e, $model) $e, $e | ForEach-Object -Begin { $i = 0 } -Process { $i++; $_ | Update-TrtEngineWeights -Path $(if ($i -eq 1) { './nothing.safetensors' } else { $model }) -PassThru }")
            .AddParameter("e", engine).AddParameter("model", Model);
        var output = ps.Invoke();

        var error = Assert.Single(ps.Streams.Error);
        Assert.Equal("WeightsNotFound,TrtEngine.Cmdlets.Commands.UpdateTrtEngineWeightsCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Same(engine, Assert.Single(output).BaseObject);
        Assert.Equal(1, engine.RefitCount);
    }

    [Fact]
    public void Removing_the_module_from_one_runspace_disposes_the_engines_made_there_only()
    {
        using var first = OpenRunspace();
        using var second = OpenRunspace();
        var here = NewEngine(first);
        var there = NewEngine(second);

        // OnRemove runs on the thread of the runspace that removes the module.
        var previous = Runspace.DefaultRunspace;
        Runspace.DefaultRunspace = first;
        try
        {
            new ModuleCleanup().OnRemove(null!);
        }
        finally
        {
            Runspace.DefaultRunspace = previous;
        }
        Assert.False(here.HasWeights);
        Assert.Throws<Native.Runtime.EngineDisposedException>(() => here.Run(new Dictionary<string, float[]> { ["input"] = new float[64] }));
        Assert.True(there.HasWeights);
        there.Dispose();
    }
}
