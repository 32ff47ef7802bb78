namespace TrtEngine.Native.Kernels;

/// <summary>How a job that shares an image's channels out over threads cuts them: slices of whole 512-bit vectors.</summary>
internal static class ChannelSlices
{
    /// <summary>About <paramref name="wanted"/> slices of <paramref name="channels"/>: how many, and the channels of each (the last may hold fewer).</summary>
    public static (int Count, int Width) Of(int channels, int wanted)
    {
        if (channels == 0) return (1, 0);
        int width = ((channels + wanted - 1) / wanted + 15) / 16 * 16;
        return ((channels + width - 1) / width, width);
    }
}
