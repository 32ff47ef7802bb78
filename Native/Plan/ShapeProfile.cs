using TrtEngine.Native.Network;

namespace TrtEngine.Native.Plan;

/// <summary>The shapes an input may take: kernels are tuned at Opt, and any shape between Min and Max runs.</summary>
public sealed record ShapeProfile(int[] Min, int[] Opt, int[] Max)
{
    public static ShapeProfile Static(int[] shape) => new(shape, shape, shape);

    /// <summary>For dims the model leaves dynamic and nobody set: tuned at 1, any size from 1 up runs.</summary>
    public static ShapeProfile Default(int[] dims) => new(
        dims.Select(d => d < 0 ? 1 : d).ToArray(), dims.Select(d => d < 0 ? 1 : d).ToArray(), dims.Select(d => d < 0 ? int.MaxValue : d).ToArray());

    public bool Contains(ReadOnlySpan<int> shape)
    {
        if (shape.Length != Min.Length) return false;
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] < Min[i] || shape[i] > Max[i]) return false;
        return true;
    }

    public override string ToString() => Min.AsSpan().SequenceEqual(Max)
        ? Shapes.Format(Opt)
        : $"min {Shapes.Format(Min)}, opt {Shapes.Format(Opt)}, max [{string.Join(", ", Max.Select(d => d == int.MaxValue ? "any" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";

    public bool Equals(ShapeProfile? other) => other is not null && Min.AsSpan().SequenceEqual(other.Min) && Opt.AsSpan().SequenceEqual(other.Opt) && Max.AsSpan().SequenceEqual(other.Max);

    public override int GetHashCode() => HashCode.Combine(Min.Length, Opt.Length > 0 ? Opt[0] : 0);
}
