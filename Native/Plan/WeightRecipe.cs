using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;

namespace TrtEngine.Native.Plan;

/// <summary>
/// How to derive one engine weight from named model weights. Plans keep recipes even without weights,
/// so a refit re-runs them on new model weights and gets exactly what a fresh build would.
/// </summary>
public sealed record WeightRecipe(RecipeKind Kind, string[] Sources, int[] Ints, float[] Floats)
{
    public static WeightRecipe Identity(string source) => new(RecipeKind.Identity, [source], [], []);

    public static WeightRecipe Scale(string source, float factor, int length) => new(RecipeKind.Scale, [source], [length], [factor]);

    public static WeightRecipe PackGemmB(string source, int k, int n, bool transB, float alpha, int tacticId) =>
        new(RecipeKind.PackGemmB, [source], [k, n, transB ? 1 : 0, tacticId], [alpha]);

    public static WeightRecipe FoldBatchNormWeight(string weight, string scale, string variance, float epsilon) =>
        new(RecipeKind.FoldBatchNormWeight, [weight, scale, variance], [], [epsilon]);

    public static WeightRecipe FoldBatchNormBias(string? bias, string scale, string shift, string mean, string variance, float epsilon) =>
        new(RecipeKind.FoldBatchNormBias, bias is null ? [scale, shift, mean, variance] : [bias, scale, shift, mean, variance], [bias is null ? 0 : 1], [epsilon]);

    /// <summary>A convolution weight packed for a channels-last kernel, optionally with a BatchNormalization folded in first.</summary>
    public static WeightRecipe PackConv(string weight, (string Scale, string Variance, float Epsilon)? batchNorm, ConvPacking form, int outChannels, int k, int taps, int tacticId) =>
        batchNorm is var (scale, variance, epsilon)
            ? new(RecipeKind.PackConv, [weight, scale, variance], [(int)form, outChannels, k, taps, tacticId], [epsilon])
            : new(RecipeKind.PackConv, [weight], [(int)form, outChannels, k, taps, tacticId], []);

    /// <summary>How many model weights a recipe of this kind reads.</summary>
    public static int SourceCount(RecipeKind kind, int[] ints, float[] floats) => kind switch
    {
        RecipeKind.FoldBatchNormWeight => 3,
        RecipeKind.PackConv => floats.Length == 1 ? 3 : 1, // a folded BatchNormalization brings its epsilon
        RecipeKind.FoldBatchNormBias => ints is [var hasBias] ? 4 + hasBias : -1,
        _ => 1,
    };

    /// <summary>Number of floats the derived weight holds.</summary>
    public long OutputLength(IReadOnlyList<long> sourceLengths) => Kind switch
    {
        RecipeKind.Identity => sourceLengths[0],
        RecipeKind.Scale => Math.Max(sourceLengths[0], Ints[0]),
        RecipeKind.PackGemmB => GemmKernels.PackedLength(Ints[0], Ints[1], GemmKernels.Tactics[Ints[3]]),
        RecipeKind.FoldBatchNormWeight => sourceLengths[0],
        RecipeKind.FoldBatchNormBias => sourceLengths[^1],
        RecipeKind.PackConv => ConvWeightPacking.PackedLength((ConvPacking)Ints[0], Ints[1], Ints[2], Ints[3], Ints[4]),
        _ => throw new InvalidOperationException($"Unknown recipe {Kind}."),
    };

    /// <summary>Runs the recipe into a new pinned buffer (engine weights are read through pointers).</summary>
    public float[] Evaluate(IReadOnlyList<float[]> sources)
    {
        var result = NewBuffer(sources);
        Evaluate(sources, result);
        return result;
    }

    /// <summary>A pinned buffer of the output length, not yet written.</summary>
    public float[] NewBuffer(IReadOnlyList<float[]> sources) =>
        GC.AllocateUninitializedArray<float>(checked((int)OutputLength(sources.Select(s => s.LongLength).ToArray())), pinned: true);

    /// <summary>
    /// The parts a recipe can be evaluated in independently, on several threads: the tactic's column panels for the
    /// GEMM and Winograd packings, one for the others.
    /// </summary>
    public int Panels => Kind switch
    {
        RecipeKind.PackGemmB => GemmKernels.PanelCount(Ints[1], GemmKernels.Tactics[Ints[3]]),
        RecipeKind.PackConv when (ConvPacking)Ints[0] is not ConvPacking.Depthwise => GemmKernels.PanelCount(Ints[1], GemmKernels.Tactics[Ints[4]]),
        _ => 1,
    };

    /// <summary>
    /// The elements [Start, End) of the first source that the panels [<paramref name="firstPanel"/>,
    /// <paramref name="endPanel"/>) read, or null where they read it in strides (an untransposed GEMM B in several
    /// panels). A panel of a packed weight is a run of output channels or columns, each one row of the source.
    /// </summary>
    public (long Start, long End)? SourceRange(int firstPanel, int endPanel, long sourceLength)
    {
        if (firstPanel == 0 && endPanel == Panels) return (0, sourceLength);
        (int columns, int rowLength, int nr) = Kind switch
        {
            RecipeKind.PackGemmB when Ints[2] != 0 => (Ints[1], Ints[0], GemmKernels.Tactics[Ints[3]].Nr),
            RecipeKind.PackConv => (Ints[1], Ints[2], GemmKernels.Tactics[Ints[4]].Nr),
            _ => (0, 0, 0),
        };
        if (nr == 0) return null;
        return ((long)Math.Min(firstPanel * nr, columns) * rowLength, (long)Math.Min(endPanel * nr, columns) * rowLength);
    }

    /// <summary>
    /// Runs the recipe into <paramref name="result"/>, which holds exactly the output length; every element is written.
    /// Returns whether it found every value of its first source finite on the way (the packing kernels' sums): a
    /// refit then need not scan that source for NaN and infinity. False says nothing: the recipe reads only part of
    /// it or does not check (small per-channel recipes), or some value is not finite.
    /// </summary>
    public bool Evaluate(IReadOnlyList<float[]> sources, float[] result) => Evaluate(sources, result, 0, Panels);

    /// <summary>
    /// <see cref="Evaluate(IReadOnlyList{float[]}, float[])"/> for the panels [<paramref name="firstPanel"/>,
    /// <paramref name="endPanel"/>) of <see cref="Panels"/> only; true when every value of the first source it read is finite.
    /// </summary>
    /// <param name="stream">Write packed panels with streaming stores (<see cref="PackingKernels.Panels"/>): for a run whose output is large.</param>
    public unsafe bool Evaluate(IReadOnlyList<float[]> sources, float[] result, int firstPanel, int endPanel, bool stream = false)
    {
        float[] src = sources[0];
        switch (Kind)
        {
            case RecipeKind.Identity:
                fixed (float* s = src, d = result) return PackingKernels.CopyFinite(s, d, result.Length);
            case RecipeKind.Scale when src.Length == result.Length:
                fixed (float* s = src, d = result) return float.IsFinite(PackingKernels.ScaledCopy(s, d, result.Length, Floats[0]));
            case RecipeKind.Scale:
                Array.Fill(result, Floats[0] * src[0]);
                return false;
            case RecipeKind.PackGemmB:
                int k = Ints[0], n = Ints[1];
                if (src.LongLength != (long)k * n) throw new ShapeException($"GEMM weight '{Sources[0]}' has {src.LongLength} values, expected {k}×{n}.");
                fixed (float* s = src, d = result)
                    return float.IsFinite(GemmKernels.PackB(s, k, n, Ints[2] != 0, Floats[0], GemmKernels.Tactics[Ints[3]], d, firstPanel, endPanel, stream));
            case RecipeKind.FoldBatchNormWeight:
            {
                float[] factors = FoldFactors(sources[1], sources[2], Floats[0]);
                int perChannel = src.Length / factors.Length;
                float sum = 0;
                fixed (float* s = src, d = result)
                    for (int o = 0; o < factors.Length; o++)
                        sum += PackingKernels.ScaledCopy(s + (nint)o * perChannel, d + (nint)o * perChannel, perChannel, factors[o]);
                return float.IsFinite(sum);
            }
            case RecipeKind.PackConv:
            {
                // Folding multiplies by the same float factor as FoldBatchNormWeight, so fold-then-pack is exact.
                float[]? factors = sources.Count == 3 ? FoldFactors(sources[1], sources[2], Floats[0]) : null;
                fixed (float* w = src, f = factors, d = result)
                    return float.IsFinite(ConvWeightPacking.Pack(w, src.Length, (ConvPacking)Ints[0], Ints[1], Ints[2], Ints[3], Ints[4], f, d, firstPanel, endPanel, stream));
            }
            case RecipeKind.FoldBatchNormBias:
            {
                int first = Ints[0];
                float[]? bias = first == 1 ? src : null;
                fixed (float* b = bias, scale = sources[first], shift = sources[first + 1], mean = sources[first + 2], variance = sources[first + 3], d = result)
                    PackingKernels.FoldBatchNorm(scale, variance, Floats[0], result.Length, null, b, shift, mean, d);
                return false;
            }
            default:
                throw new InvalidOperationException($"Unknown recipe {Kind}.");
        }
    }

    /// <summary>scale[o] / √(variance[o] + ε), the per-output-channel factor of a folded BatchNormalization.</summary>
    private static unsafe float[] FoldFactors(float[] scale, float[] variance, float epsilon)
    {
        var factors = new float[scale.Length];
        fixed (float* s = scale, v = variance, f = factors)
            PackingKernels.FoldBatchNorm(s, v, epsilon, factors.Length, f, null, null, null, null);
        return factors;
    }

    public override string ToString() => Kind switch
    {
        RecipeKind.Identity => Sources[0],
        RecipeKind.Scale => $"{Floats[0]} × {Sources[0]}",
        RecipeKind.FoldBatchNormWeight => $"{Sources[0]} × {Sources[1]} / √({Sources[2]} + {Floats[0]})",
        RecipeKind.FoldBatchNormBias => $"({(Ints[0] == 1 ? Sources[0] : "0")} − {Sources[^2]}) × {Sources[^4]} / √({Sources[^1]} + {Floats[0]}) + {Sources[^3]}",
        RecipeKind.PackGemmB => $"pack({(Ints[2] != 0 ? "transpose(" + Sources[0] + ")" : Sources[0])}{(Floats[0] != 1 ? $" × {Floats[0]}" : "")}, {GemmKernels.Tactics[Ints[3]].Name})",
        RecipeKind.PackConv => $"pack_{((ConvPacking)Ints[0]).ToString().ToLowerInvariant()}({(Sources.Length == 3 ? $"{Sources[0]} × {Sources[1]} / √({Sources[2]} + {Floats[0]})" : Sources[0])}{((ConvPacking)Ints[0] == ConvPacking.Depthwise ? "" : ", " + GemmKernels.Tactics[Ints[4]].Name)})",
        _ => Kind.ToString(),
    };

    public bool Equals(WeightRecipe? other) => other is not null && Kind == other.Kind &&
        Sources.AsSpan().SequenceEqual(other.Sources) && Ints.AsSpan().SequenceEqual(other.Ints) && Floats.AsSpan().SequenceEqual(other.Floats);

    public override int GetHashCode() => HashCode.Combine(Kind, Sources.Length > 0 ? Sources[0] : "", Ints.Length);
}
