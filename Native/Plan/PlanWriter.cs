using System.Text;
using TrtEngine.Native.Kernels;

namespace TrtEngine.Native.Plan;

/// <summary>Little-endian primitives of the plan format; the reader mirrors each one with bounds checks.</summary>
internal sealed class PlanWriter(Stream stream)
{
    private readonly BinaryWriter _w = new(stream, Encoding.UTF8, leaveOpen: true);

    public void Write(bool v) => _w.Write(v);
    public void Write(byte v) => _w.Write(v);
    public void Write(int v) => _w.Write(v);
    public void Write(long v) => _w.Write(v);
    public void Write(float v) => _w.Write(v);
    public void Write(double v) => _w.Write(v);

    public void Write(string v)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(v);
        _w.Write(bytes.Length);
        _w.Write(bytes);
    }

    public void Write(int[] v)
    {
        _w.Write(v.Length);
        foreach (int x in v) _w.Write(x);
    }

    public void Write(long[] v)
    {
        _w.Write(v.Length);
        foreach (long x in v) _w.Write(x);
    }

    public void Write(string[] v)
    {
        _w.Write(v.Length);
        foreach (string x in v) Write(x);
    }

    public void Write(ReadOnlySpan<float> v)
    {
        _w.Write(v.Length);
        _w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v));
    }

    public void Write(Activation a)
    {
        _w.Write((byte)a.Kind);
        _w.Write(a.Alpha);
        _w.Write(a.Beta);
    }

    public void Flush() => _w.Flush();
}
