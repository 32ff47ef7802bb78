using System.Diagnostics;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// Runs a parser over mutated inputs on a watched thread: each input must parse or fail with an allowed exception
/// type, allocate no more than its size justifies, and finish within the hang limit (a watchdog, not a speed
/// target: a parse of these kilobyte-sized files takes microseconds). Offending inputs are saved under
/// out/reliability/ for reproduction. A parse may return a follow-up (running a loaded engine): it must also end well or
/// with an allowed exception, but its allocations (activations sized by shapes, not by the file) are not the parse's.
/// </summary>
internal sealed class FuzzRunner(string kind, Func<int, byte[]> input, Func<byte[], Action?> parse, Func<Exception, bool> allowed, Func<int, long> allocationLimit,
    TimeSpan? hangLimit = null)
{
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(5);

    private readonly TimeSpan _hangLimit = hangLimit ?? HangLimit;

    /// <summary>What a parse may allocate: a small multiple of the input (parsed lists, floats widened from halves) plus a fixed allowance.</summary>
    public static long AllocationLimit(int inputBytes) => 64L * inputBytes + (4 << 20);

    public int Accepted { get; private set; }
    public int Refused { get; private set; }
    public Dictionary<string, int> Errors { get; } = [];
    public long MaxAllocated { get; private set; }
    public int MaxInput { get; private set; }
    public TimeSpan Slowest { get; private set; }
    public List<string> Failures { get; } = [];

    public void Run(int trials)
    {
        int current = -1;
        long started = 0;
        // The input in flight: the generators draw from one shared Random, so calling input(i) again would make another.
        byte[] inFlight = [];
        var worker = new Thread(() =>
        {
            for (int i = 0; i < trials; i++)
            {
                byte[] bytes = input(i);
                Volatile.Write(ref inFlight, bytes);
                Volatile.Write(ref started, Stopwatch.GetTimestamp());
                Volatile.Write(ref current, i);
                Try(i, bytes);
                Slowest = TimeSpan.FromTicks(Math.Max(Slowest.Ticks, Stopwatch.GetElapsedTime(Volatile.Read(ref started)).Ticks));
            }
            Volatile.Write(ref current, trials);
        }, 16 << 20) { IsBackground = true, Name = $"fuzz {kind}" };
        worker.Start();
        while (!worker.Join(100))
        {
            int i = Volatile.Read(ref current);
            if (i >= 0 && i < trials && Stopwatch.GetElapsedTime(Volatile.Read(ref started)) > _hangLimit && Volatile.Read(ref current) == i)
            {
                Save(i, Volatile.Read(ref inFlight));
                throw new Xunit.Sdk.XunitException($"{kind} input {i} has been parsing for more than {_hangLimit.TotalSeconds} s (saved under out/reliability).");
            }
        }
    }

    private void Try(int i, byte[] bytes)
    {
        long before = GC.GetAllocatedBytesForCurrentThread(), allocated = 0;
        try
        {
            Action? followUp = parse(bytes);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Accepted++;
            followUp?.Invoke();
        }
        catch (Exception e) when (allowed(e))
        {
            Refused++;
            Errors[e.GetType().Name] = Errors.GetValueOrDefault(e.GetType().Name) + 1;
        }
        catch (Exception e)
        {
            Fail(i, bytes, $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}");
        }
        if (allocated == 0) allocated = GC.GetAllocatedBytesForCurrentThread() - before; // refused while parsing
        MaxAllocated = Math.Max(MaxAllocated, allocated);
        MaxInput = Math.Max(MaxInput, bytes.Length);
        if (allocated > allocationLimit(bytes.Length)) Fail(i, bytes, $"allocated {allocated} bytes for a {bytes.Length}-byte input");
    }

    private void Fail(int i, byte[] bytes, string what)
    {
        if (Failures.Count < 5) Failures.Add($"{kind} input {i} ({Save(i, bytes)}): {what}");
        else if (Failures.Count == 5) Failures.Add("…");
    }

    private string Save(int i, byte[] bytes)
    {
        string dir = Path.Combine(TestPaths.RepositoryRoot, "out", "reliability");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"fuzz-{kind}-{i}.bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Summary(int trials) =>
        $"{kind}: {trials} mutated inputs, {Refused} refused with {string.Join(", ", Errors.OrderBy(e => e.Key).Select(e => $"{e.Key} {e.Value}"))}, {Accepted} accepted, " +
        $"{Failures.Count} failures; slowest {Slowest.TotalMilliseconds:F1} ms; largest input {MaxInput} bytes, most allocated by one parse {MaxAllocated} bytes";
}
