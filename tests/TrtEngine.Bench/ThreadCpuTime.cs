using System.Runtime.InteropServices;

namespace TrtEngine.Bench;

/// <summary>The calling thread's CPU time (Linux clock_gettime(CLOCK_THREAD_CPUTIME_ID)): time while descheduled does not count.</summary>
internal static partial class ThreadCpuTime
{
    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static int Read(out TimeSpec time) => ClockGetTime(ClockThreadCpuTime, out time);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
