namespace TrtEngine.Native.Runtime;

/// <summary>
/// The parts of a <see cref="WorkerPool"/> loop, claimed home first: each thread takes the parts its place in the pool
/// (<see cref="WorkerPool.CurrentWorker"/>) gives it, in order, then whatever no thread has reached yet, from the end.
/// Parts handed out in claim order went to whichever thread came first, so the rows a thread wrote in one layer were
/// read by the other core in the next about half the time; home first, each thread takes the same share of rows in
/// every layer (MnasNet 6–9% faster a call, MobileNetV2 and RegNetY about 4%), and a thread that was descheduled still
/// has its parts taken by the others. Reset on the calling thread before the loop starts (the pool's start publishes it).
/// </summary>
internal struct PartClaims
{
    private int[] _claimed;
    private int _parts, _participants;

    /// <summary>Starts a loop of <paramref name="parts"/> parts shared by <paramref name="participants"/> loop indices.</summary>
    public void Reset(int parts, int participants)
    {
        _parts = parts;
        _participants = Math.Max(1, participants);
        if (_claimed is null || _claimed.Length < parts) _claimed = new int[Math.Max(1, parts)];
        else Array.Clear(_claimed, 0, parts);
    }

    /// <summary>
    /// The calling thread's next part, or −1 when every part is claimed; <paramref name="walk"/> (0 at the start of
    /// the thread's turn) keeps its place: its own parts first, then the others' from the last.
    /// </summary>
    public readonly int Next(ref int walk)
    {
        int home = WorkerPool.CurrentWorker % _participants;
        int first = (int)((long)_parts * home / _participants), own = (int)((long)_parts * (home + 1) / _participants) - first;
        while (walk < own + _parts)
        {
            int step = walk++;
            int part = step < own ? first + step : _parts - 1 - (step - own);
            if (Interlocked.Exchange(ref _claimed[part], 1) == 0) return part;
        }
        return -1;
    }
}
