using System.Globalization;

namespace TrtEngine.CacheWorker;

/// <summary>Where a crash test wants the worker to stand still: the N-th occurrence of a named step.</summary>
internal sealed class StopPoint(string? spec)
{
    private readonly string? _step = spec?.Split(':')[0];
    private readonly int _occurrence = spec?.Split(':') is [_, var n] ? int.Parse(n, CultureInfo.InvariantCulture) : 1;
    private int _seen;

    public void Reached(string step)
    {
        if (step != _step || Interlocked.Increment(ref _seen) != _occurrence) return;
        Console.WriteLine($"STOPPED {step}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite); // the test kills the process here
    }
}
