using System.Collections.Concurrent;
using System.Diagnostics;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>A TrtEngine.CacheWorker child process (dotnet TrtEngine.CacheWorker.dll ...) whose output lines are collected as they come.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];

    public WorkerProcess(params string[] args) : this(new Dictionary<string, string>(), args)
    {
    }

    /// <param name="environment">Variables set for the child on top of this process's environment.</param>
    public WorkerProcess(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.ArgumentList.Add(typeof(CacheWorker.WorkerIO).Assembly.Location);
        foreach (string a in args) start.ArgumentList.Add(a);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { if (e.Data is null) _lines.CompleteAdding(); else _lines.Add(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Errors.Add(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public ConcurrentBag<string> Errors { get; } = [];

    public List<string> Lines { get; } = [];

    /// <summary>Waits for the next line that starts with one of the prefixes; null when the process ended first.</summary>
    public string? WaitFor(params string[] prefixes)
    {
        foreach (string line in _lines.GetConsumingEnumerable())
        {
            Lines.Add(line);
            if (prefixes.Any(p => line.StartsWith(p, StringComparison.Ordinal))) return line;
        }
        return null;
    }

    /// <summary>Waits for the process to end (a hang guard, far beyond what the work needs) and returns its exit code.</summary>
    public int Finish(TimeSpan guard)
    {
        if (!_process.WaitForExit(guard)) throw new Xunit.Sdk.XunitException($"the worker did not finish within {guard}: {string.Join(" | ", Lines.TakeLast(5))}");
        _process.WaitForExit();
        WaitFor("\0"); // drain
        return _process.ExitCode;
    }

    /// <summary>SIGKILL on Unix (TerminateProcess on Windows): no handler runs, nothing is flushed or cleaned up.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
