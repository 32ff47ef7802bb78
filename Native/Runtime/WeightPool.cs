using System.Runtime.CompilerServices;

namespace TrtEngine.Native.Runtime;

/// <summary>
/// Pinned float buffers recycled from engines that were disposed or died, for the weights of the engines made next.
/// A cache hit writes a model's weights twice (its model values and the packed engine weights); where those land on
/// pages the process has not touched since the GC last freed them, the page faults cost more than that work (counted:
/// thousands per hit), and users and services create engine after engine of the same models.
/// <para>
/// Every buffer this pool made has an owner: none yet (just rented: it may be claimed), one engine (which hands it
/// back when it is disposed or collected), or kept (it went where the pool cannot follow, such as another engine's
/// state or a caller's dictionary: it is never recycled). An engine hands back only what it owns, so a buffer another
/// engine or a caller can still reach is never rewritten.
/// </para>
/// </summary>
internal static class WeightPool
{
    /// <summary>The most bytes the pool holds; what a disposed engine hands back beyond it is left to the GC.</summary>
    public const long MaxPooledBytes = 512L << 20;

    private static readonly object Gate = new();
    private static readonly ConditionalWeakTable<float[], Lease> Leases = new();
    private static readonly Dictionary<int, Stack<(float[] Buffer, Lease Lease, int Gen2)>> Free = [];
    private static long s_pooledBytes;

    static WeightPool() => _ = new Gen2Trim();

    /// <summary>Who may hand a buffer back: its owner (null: no one yet); kept or pooled buffers are claimed by no one.</summary>
    private sealed class Lease
    {
        public object? Owner;
        public bool Kept;
        public bool Pooled;

        /// <summary>A refit found every value finite (set only for values nothing writes again; cleared when rented).</summary>
        public bool Finite;

        /// <summary>How many times the buffer was rented out again after it came back (see <see cref="Rentals"/>).</summary>
        public int Rentals;
    }

    /// <summary>Bytes waiting in the pool (for tests and diagnostics).</summary>
    public static long PooledBytes
    {
        get
        {
            lock (Gate) return s_pooledBytes;
        }
    }

    /// <summary>A pinned buffer of <paramref name="length"/> floats with undefined contents, owned by no one until claimed.</summary>
    public static float[] Rent(int length) => Rent(length, owner: null);

    /// <summary>
    /// A pinned buffer of <paramref name="length"/> floats with undefined contents, owned by <paramref name="owner"/>
    /// from the start (so it need not be claimed: a refit's own copies, which nothing else can reach).
    /// </summary>
    public static float[] Rent(int length, object? owner)
    {
        lock (Gate)
        {
            if (Free.TryGetValue(length, out var stack) && stack.TryPop(out var entry))
            {
                s_pooledBytes -= length * (long)sizeof(float);
                entry.Lease.Rentals++;
                entry.Lease.Pooled = false;
                entry.Lease.Finite = false;
                entry.Lease.Owner = owner;
                return entry.Buffer;
            }
        }
        var buffer = GC.AllocateUninitializedArray<float>(length, pinned: true);
        lock (Gate) Leases.Add(buffer, new Lease { Owner = owner });
        return buffer;
    }

    /// <summary>
    /// Whether the pool made <paramref name="buffer"/> (so it is pinned), and whether a refit has found its values all
    /// finite since it was last rented (see <see cref="MarkFinite"/>).
    /// </summary>
    public static bool Made(float[] buffer, out bool finite)
    {
        lock (Gate)
        {
            bool made = Leases.TryGetValue(buffer, out var lease);
            finite = made && lease!.Finite;
            return made;
        }
    }

    /// <summary>Whether <paramref name="buffer"/> waits in the pool, handed back and not rented again (for tests).</summary>
    internal static bool Pooled(float[] buffer)
    {
        lock (Gate) return Leases.TryGetValue(buffer, out var lease) && lease.Pooled;
    }

    /// <summary>
    /// Records that a buffer's values are all finite, for a value nothing writes again (an immutable model value): the
    /// refits that adopt it later need not scan it. Renting the buffer out again forgets it.
    /// </summary>
    public static void MarkFinite(float[] buffer)
    {
        lock (Gate)
            if (Leases.TryGetValue(buffer, out var lease)) lease.Finite = true;
    }

    /// <summary>
    /// Makes <paramref name="owner"/> the owner of the pool's buffers among <paramref name="buffers"/> that have none
    /// yet; one another owner holds too (two engines refitted from one <c>WeightFile</c>) is kept from then on.
    /// </summary>
    /// <param name="owned">Set, by position in <paramref name="buffers"/>, to whether <paramref name="owner"/> owns the buffer afterwards.</param>
    public static void Claim(object owner, IEnumerable<float[]> buffers, Span<bool> owned = default)
    {
        lock (Gate)
        {
            int j = -1;
            foreach (var buffer in buffers)
            {
                j++;
                if (!Leases.TryGetValue(buffer, out var lease) || lease.Kept || lease.Pooled) continue;
                if (lease.Owner is null) lease.Owner = owner;
                else if (!ReferenceEquals(lease.Owner, owner))
                {
                    (lease.Owner, lease.Kept) = (null, true);
                    continue;
                }
                if (j < owned.Length) owned[j] = true;
            }
        }
    }

    /// <summary>
    /// Never recycles these buffers: something the pool cannot see may hold them from now on, and may write them, so
    /// what a read found about their values (<see cref="MarkFinite"/>) no longer holds.
    /// </summary>
    public static void Keep(IEnumerable<float[]> buffers)
    {
        lock (Gate)
            foreach (var buffer in buffers)
                if (Leases.TryGetValue(buffer, out var lease)) (lease.Owner, lease.Kept, lease.Finite) = (null, true, false);
    }

    /// <summary>
    /// Takes back the buffers among <paramref name="buffers"/> that <paramref name="owner"/> owns (each once); with a
    /// null owner, those rented and never claimed (their renter alone can reach them). A renter that hands its buffers
    /// back only after others may have had them (an engine adopted one, recycled it, and someone rented it again) uses
    /// <see cref="ReturnRented"/>.
    /// </summary>
    public static void Return(object? owner, IEnumerable<float[]> buffers)
    {
        int gen2 = GC.CollectionCount(2);
        lock (Gate)
            foreach (var buffer in buffers)
                if (Leases.TryGetValue(buffer, out var lease) && ReferenceEquals(lease.Owner, owner)) Pool(buffer, lease, gen2);
    }

    /// <summary>
    /// The rental of each of <paramref name="buffers"/> (0 for one the pool did not make), for <see cref="ReturnRented"/>:
    /// taken while the renter alone holds them.
    /// </summary>
    public static int[] Rentals(IReadOnlyList<float[]> buffers)
    {
        var rentals = new int[buffers.Count];
        lock (Gate)
            for (int i = 0; i < rentals.Length; i++)
                if (Leases.TryGetValue(buffers[i], out var lease)) rentals[i] = lease.Rentals;
        return rentals;
    }

    /// <summary>
    /// Takes back the buffers among <paramref name="buffers"/> still in the rental <paramref name="rentals"/> recorded
    /// (<see cref="Rentals"/>) and claimed by no one. One that an engine adopted, handed back and the pool rented out
    /// again has a later rental: its new renter holds it, unclaimed too, and handing it back would let a third party
    /// rent it and overwrite what the new renter, or the engine that adopts it from there, computes with.
    /// </summary>
    public static void ReturnRented(IReadOnlyList<float[]> buffers, int[] rentals)
    {
        int gen2 = GC.CollectionCount(2);
        lock (Gate)
            for (int i = 0; i < buffers.Count; i++)
                if (Leases.TryGetValue(buffers[i], out var lease) && lease.Owner is null && lease.Rentals == rentals[i]) Pool(buffers[i], lease, gen2);
    }

    /// <summary>Puts a buffer whose owner hands it back in the pool, unless it is kept or pooled already; under the gate.</summary>
    private static void Pool(float[] buffer, Lease lease, int gen2)
    {
        if (lease.Kept || lease.Pooled) return;
        lease.Owner = null;
        long bytes = buffer.Length * (long)sizeof(float);
        // Beyond the limit the buffer is left to the GC (kept, so no one claims it on the way).
        lease.Kept = s_pooledBytes + bytes > MaxPooledBytes;
        if (lease.Kept) return;
        if (!Free.TryGetValue(buffer.Length, out var stack)) Free[buffer.Length] = stack = new();
        lease.Pooled = true;
        stack.Push((buffer, lease, gen2));
        s_pooledBytes += bytes;
    }

    /// <summary>Drops every buffer waiting in the pool, for the GC to take (the module is being removed).</summary>
    public static void Clear()
    {
        lock (Gate)
        {
            Free.Clear();
            s_pooledBytes = 0;
        }
    }

    /// <summary>Drops the buffers that waited through a whole gen-2 cycle unused: memory no engine came back for.</summary>
    private static void Trim()
    {
        int gen2 = GC.CollectionCount(2);
        lock (Gate)
            foreach (var (length, stack) in Free)
            {
                var fresh = stack.Where(e => gen2 - e.Gen2 < 2).Reverse().ToArray();
                s_pooledBytes -= (stack.Count - fresh.Length) * (long)length * sizeof(float);
                stack.Clear();
                foreach (var entry in fresh) stack.Push(entry);
            }
    }

    /// <summary>Finalized at every gen-2 collection (it re-registers itself), where it trims the pool.</summary>
    private sealed class Gen2Trim
    {
        ~Gen2Trim()
        {
            if (Environment.HasShutdownStarted) return;
            Trim();
            GC.ReRegisterForFinalize(this);
        }
    }
}
