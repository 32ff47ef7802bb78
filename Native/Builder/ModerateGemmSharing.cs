using System.Diagnostics;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Builder;

/// <summary>
/// Chooses <see cref="EnginePlan.ModerateGemmsShared"/> by timing the whole engine at its opt shapes both ways, calls
/// back to back. A moderate GEMM timed alone does not show what sharing it costs: in the network its input was just
/// written by the layer before, on one core or on both, and its output is read by the next. tiny_mlp at batch 64 on
/// a VM where it did not pay: its 768 Ki GEMM alone ran 7.7 µs on one thread against 7.1 shared, and the
/// whole call 17.5 µs with both moderate GEMMs on one thread against 24.3 with that one shared.
/// </summary>
internal static class ModerateGemmSharing
{
    /// <summary>
    /// Seconds of calls in a row each turn (4 to 64 calls). Turns of a few calls timed sharing faster than the engine then
    /// ran: tiny_mlp at batch 64, 4 calls a turn: 16.7 µs sharing against 20.2 not, where 20,000 calls in a row ran 25.8
    /// sharing against 17.2 not; 64 calls a turn: 29.5–34.8 against 18.9–25.4, as the engine then ran (why a long run of
    /// shared calls is slower than a short one was not found).
    /// </summary>
    private const double TurnSeconds = 1e-3;

    /// <summary>Not sharing must win by this much: sharing is the rule untimed (level 0), which paid on the hosts before.</summary>
    private const double Margin = 0.97;

    /// <summary>
    /// From this long a call, the engine's moderate GEMMs (each a few microseconds of work) cannot make much of it:
    /// sharing them stays, untimed.
    /// </summary>
    private const double TimedBelowSeconds = 2e-3;

    /// <summary>
    /// Whether <paramref name="engine"/> (built on a pool of several threads, with weights) runs faster sharing its
    /// moderate GEMMs; true where it has none (the choice changes nothing) or where a call is long.
    /// </summary>
    public static bool Faster(Engine engine, int level, Action<string>? log, CancellationToken cancel)
    {
        var plan = engine.Plan;
        var random = new Random(12345);
        // Of the inputs' own lengths (an empty input is empty): not the tactics' buffers, which hold a value at least.
        // Integer and bool inputs are 0, an index and a mask value every model takes.
        var inputs = plan.Profiles.Select((p, i) => Array.ConvertAll(new float[Shapes.ElementCount(p.Opt)],
            _ => plan.InputTypes[i] == ElementType.Float32 ? (float)(random.NextDouble() * 2 - 1) : 0f)).ToArray();
        var contexts = new[] { engine.CreateExecutionContext(moderateGemmsShared: true), engine.CreateExecutionContext(moderateGemmsShared: false) };
        var outputs = Enumerable.Range(0, plan.Outputs.Length).Select(o => new float[Shapes.ElementCount(contexts[0].GetOutputShape(o))]).ToArray();
        double Call(Runtime.ExecutionContext context)
        {
            long start = Stopwatch.GetTimestamp();
            context.Execute(inputs, outputs);
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Call(contexts[0]);
        if (!contexts[0].RanModerateGemms) return true;
        // A few calls where one was slow but not far off: a call descheduled on a busy machine is not a long one.
        double fastest = Call(contexts[0]);
        for (int retry = 0; retry < 3 && fastest >= TimedBelowSeconds && fastest < 10 * TimedBelowSeconds; retry++) fastest = Math.Min(fastest, Call(contexts[0]));
        if (fastest >= TimedBelowSeconds) return true;

        // Turns as the tactics are timed (more at higher levels), by each way's fastest turn. A turn's first call is not
        // timed: it finds the workers as the other way left them (asleep after a turn that did not share), and shares nothing.
        int calls = (int)Math.Clamp(TurnSeconds / fastest, 4, 64);
        var best = new[] { double.MaxValue, double.MaxValue };
        for (int turn = 0; turn < 2 + 2 * level; turn++)
        {
            cancel.ThrowIfCancellationRequested();
            for (int way = 0; way < 2; way++)
            {
                Call(contexts[way]);
                double seconds = 0;
                for (int call = 1; call < calls; call++) seconds += Call(contexts[way]);
                best[way] = Math.Min(best[way], seconds / (calls - 1));
            }
        }
        bool shared = best[1] >= Margin * best[0];
        log?.Invoke($"Moderate GEMMs {(shared ? "shared" : "kept on one thread")}: a call took {best[0] * 1e6:F1} µs sharing them, {best[1] * 1e6:F1} µs not.");
        return shared;
    }
}
