using System.Globalization;

namespace TrtEngine.Cmdlets.Support;

/// <summary>Byte counts as the format views show them: 512 B, 84.7 KiB, 5.0 GiB.</summary>
public static class ByteSize
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    public static string Format(long bytes)
    {
        double n = bytes;
        int unit = 0;
        while (Math.Abs(n) >= 1024 && unit < Units.Length - 1)
        {
            n /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : string.Format(CultureInfo.CurrentCulture, "{0:N1} {1}", n, Units[unit]);
    }
}
