namespace TrtEngine.Native.Kernels;

/// <summary>
/// The rows of an intermediate tensor that one thread of a fused layer keeps in its scratch while it computes output
/// rows band by band: rows [<see cref="Start"/>, <see cref="End"/>) of one image, row Start at the top of a scratch of
/// <c>capacity</c> rows. Rows a band shares with the next stay; so a thread walking down an image computes each
/// intermediate row once, and only the rows at the top of a strip it starts twice.
/// </summary>
internal unsafe struct HeldRows(float* scratch, nint rowFloats, int capacity)
{
    private int _image = -1;

    public int Start { get; private set; }

    public int End { get; private set; }

    /// <summary>Row 0 of the image, as if all its rows were held (only [Start, End) may be read).</summary>
    public readonly float* Base => scratch - Start * rowFloats;

    /// <summary>
    /// Readies the scratch for rows [<paramref name="low"/>, <paramref name="high"/>) of <paramref name="image"/>
    /// (high − low ≤ capacity): the held rows from low on stay (moved to the top when the rows up to high would not
    /// fit below them), the others are dropped; all of them where low is above the first held row. Returns the first row the caller must compute, at <see cref="Base"/>;
    /// rows up to high are held once it has.
    /// </summary>
    public int Ready(int image, int low, int high)
    {
        // Rows above the held ones (a thread that took a strip higher up the image than its last) start afresh too.
        if (image != _image || low >= End || low < Start) (_image, Start, End) = (image, low, low);
        else if (high - Start > capacity)
        {
            long bytes = (End - low) * rowFloats * sizeof(float);
            Buffer.MemoryCopy(scratch + (low - Start) * rowFloats, scratch, bytes, bytes);
            Start = low;
        }
        int first = End;
        End = Math.Max(End, high);
        return first;
    }
}
