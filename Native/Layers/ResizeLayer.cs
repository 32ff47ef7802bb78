using System.Numerics;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Layers;

/// <summary>
/// ONNX Resize (and Upsample) of a 4-D NCHW tensor over H and W, by constant scales or constant sizes
/// (exactly one of the two has four entries; N and C keep their size). Coordinates are computed in float32
/// as ONNX Runtime does, so nearest-pixel ties land on the same pixel. Cubic interpolation takes 4 × 4 taps with
/// Keys' coefficients of <see cref="CubicCoefficient"/> (−0.75 by default, torch's), the edge pixels repeated beyond the
/// input, or (<see cref="ExcludeOutside"/>) the taps outside it left out and the others renormalized.
/// </summary>
public sealed class ResizeLayer : Layer
{
    public ResizeLayer(string name, ValueRef x, ResizeMode mode, NearestMode nearest, CoordinateTransform transform, float[] scales, int[] sizes,
        float cubicCoefficient = -0.75f, bool excludeOutside = false)
        : base(name, [x])
    {
        if (scales.Length + sizes.Length != 4 || (scales.Length != 0 && sizes.Length != 0))
            throw new ArgumentException($"Resize '{name}': give four scales or four sizes.");
        Mode = mode;
        Nearest = nearest;
        Transform = transform;
        Scales = scales;
        Sizes = sizes;
        CubicCoefficient = cubicCoefficient;
        ExcludeOutside = excludeOutside;
    }

    public override LayerKind Kind => LayerKind.Resize;
    public ResizeMode Mode { get; }
    public NearestMode Nearest { get; }
    public CoordinateTransform Transform { get; }
    public float[] Scales { get; }
    public int[] Sizes { get; }
    public float CubicCoefficient { get; }
    public bool ExcludeOutside { get; }

    public override int[] InferShape(IReadOnlyList<int[]> inputShapes)
    {
        int[] x = inputShapes[0];
        if (x.Length != 4) throw new ShapeException($"Resize '{Name}': input {Shapes.Format(x)} is not 4-D (NCHW).");
        var y = new int[4];
        for (int d = 0; d < 4; d++)
        {
            if (Sizes.Length > 0) y[d] = d < 2 ? x[d] : Sizes[d]; // the importer checked that N and C keep their size
            else if (!(Scales[d] > 0 && Scales[d] < 1e6f)) throw new ShapeException($"Resize '{Name}': scale {Scales[d]} is invalid.");
            else y[d] = x[d] < 0 ? Shapes.Dynamic : (int)(Scales[d] * x[d]);
            if (d < 2 && y[d] != x[d]) throw new ShapeException($"Resize '{Name}': only H and W may change; {Shapes.Format(x)} would become {Shapes.Format(y)}.");
            if (d >= 2 && x[d] == 0 && y[d] > 0) throw new ShapeException($"Resize '{Name}': cannot resize the empty dimension {d}.");
        }
        return y;
    }

    internal override unsafe void Execute(ExecutionFrame frame, object? state)
    {
        int[] x = frame.Shape(Inputs[0]), y = frame.Shape(Output);
        int inH = x[2], inW = x[3], outH = y[2], outW = y[3];
        // Simple nearest rounding depends on whether the axis shrinks.
        float scaleH = (float)outH / inH, scaleW = (float)outW / inW;
        long planes = (long)y[0] * y[1];
        float* src = frame.Pointer(Inputs[0]), dst = frame.Pointer(Output);
        Span<float> rowWeights = stackalloc float[4], columnWeights = stackalloc float[4];
        for (long p = 0; p < planes; p++, src += (long)inH * inW)
        {
            for (int oh = 0; oh < outH; oh++, dst += outW)
            {
                float sy = SourceCoordinate(oh, 2, inH, outH);
                if (Mode == ResizeMode.Nearest)
                {
                    float* row = src + (long)NearestIndex(sy, scaleH, inH) * inW;
                    for (int ow = 0; ow < outW; ow++) dst[ow] = row[NearestIndex(SourceCoordinate(ow, 3, inW, outW), scaleW, inW)];
                    continue;
                }
                if (Mode == ResizeMode.Cubic)
                {
                    int top = CubicTaps(sy, inH, rowWeights);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int left = CubicTaps(SourceCoordinate(ow, 3, inW, outW), inW, columnWeights);
                        float sum = 0;
                        for (int i = 0; i < 4; i++)
                        {
                            float* row = src + (long)Math.Clamp(top + i, 0, inH - 1) * inW;
                            float across = 0;
                            for (int j = 0; j < 4; j++) across += columnWeights[j] * row[Math.Clamp(left + j, 0, inW - 1)];
                            sum += rowWeights[i] * across;
                        }
                        dst[ow] = sum;
                    }
                    continue;
                }
                var (y1, y2, wy) = LinearTaps(sy, inH);
                float* r1 = src + (long)y1 * inW, r2 = src + (long)y2 * inW;
                for (int ow = 0; ow < outW; ow++)
                {
                    var (x1, x2, wx) = LinearTaps(SourceCoordinate(ow, 3, inW, outW), inW);
                    float top = r1[x1] * (1f - wx) + r1[x2] * wx;
                    float bottom = r2[x1] * (1f - wx) + r2[x2] * wx;
                    dst[ow] = top * (1f - wy) + bottom * wy;
                }
            }
        }
    }

    /// <summary>
    /// The source coordinate of output index <paramref name="o"/> along dim <paramref name="d"/>, as ONNX Runtime
    /// computes it (its results decide nearest-pixel ties): in float32 with the given scale, or with a size's ratio as
    /// float32 for the half-pixel transforms; asymmetric and align_corners sizes use the exact ratio output/input (in
    /// double). The reference executor takes its coordinates from here.
    /// </summary>
    public float SourceCoordinate(int o, int d, int input, int output) => Sizes.Length > 0 && Transform is not (CoordinateTransform.HalfPixel or CoordinateTransform.PytorchHalfPixel)
        ? (float)Map<double>(o, (double)output / input, input, output)
        : Map<float>(o, Sizes.Length > 0 ? (float)output / input : Scales[d], input, output);

    private T Map<T>(int o, T scale, int input, int output) where T : struct, IFloatingPoint<T>
    {
        T half = T.CreateChecked(0.5), x = T.CreateChecked(o);
        return Transform switch
        {
            CoordinateTransform.HalfPixel => (x + half) / scale - half,
            CoordinateTransform.PytorchHalfPixel => output > 1 ? (x + half) / scale - half : T.Zero,
            CoordinateTransform.AlignCorners => output == 1 ? T.Zero : x * T.CreateChecked(input - 1) / T.CreateChecked(output - 1),
            _ => x / scale,
        };
    }

    private int NearestIndex(float s, float scale, int input)
    {
        float r = Nearest switch
        {
            NearestMode.RoundPreferFloor => s == MathF.Floor(s) + 0.5f ? MathF.Floor(s) : MathF.Round(s, MidpointRounding.AwayFromZero),
            NearestMode.RoundPreferCeil => s == MathF.Floor(s) + 0.5f ? MathF.Ceiling(s) : MathF.Round(s, MidpointRounding.AwayFromZero),
            NearestMode.Floor => MathF.Floor(s),
            NearestMode.Ceil => MathF.Ceiling(s),
            _ => scale < 1f ? MathF.Ceiling(s) : MathF.Truncate(s),
        };
        return (int)Math.Clamp(r, 0f, input - 1);
    }

    /// <summary>
    /// The two neighbours of a source coordinate (clamped into the input) and the second one's weight. Where both are
    /// the last pixel they weigh ½ each, as in ONNX Runtime: weights 1 and 0 made an infinite edge pixel ∞·1 + ∞·0 = NaN.
    /// </summary>
    private static (int First, int Second, float Weight) LinearTaps(float s, int input)
    {
        s = Math.Clamp(s, 0f, input - 1);
        int first = Math.Min((int)s, input - 1);
        int second = Math.Min(first + 1, input - 1);
        return (first, second, first == second ? 0.5f : s - first);
    }

    /// <summary>
    /// The first of the four pixels a cubic tap reads (the one before the coordinate's floor; clamped into the input
    /// when read) and their weights, as ONNX Runtime computes them: Keys' cubic of the distances, in float32.
    /// </summary>
    public int CubicTaps(float s, int input, Span<float> weights)
    {
        int floor = (int)MathF.Floor(s);
        float t = s - floor, a = CubicCoefficient;
        weights[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
        weights[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
        weights[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
        weights[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
        if (ExcludeOutside)
        {
            float kept = 0;
            for (int i = 0; i < 4; i++)
                if (floor - 1 + i < 0 || floor - 1 + i >= input) weights[i] = 0;
                else kept += weights[i];
            for (int i = 0; i < 4; i++) weights[i] = kept == 0 ? 0 : weights[i] / kept;
        }
        return floor - 1;
    }

    internal override void WriteParameters(PlanWriter writer)
    {
        writer.Write((byte)Mode);
        writer.Write((byte)Nearest);
        writer.Write((byte)Transform);
        writer.Write(Scales);
        writer.Write(Sizes);
        writer.Write(CubicCoefficient);
        writer.Write(ExcludeOutside);
    }

    internal static ResizeLayer Read(string name, ValueRef[] inputs, PlanReader reader)
    {
        var mode = reader.ReadEnum<ResizeMode>();
        var nearest = reader.ReadEnum<NearestMode>();
        var transform = reader.ReadEnum<CoordinateTransform>();
        float[] scales = reader.ReadSingleArray();
        int[] sizes = reader.ReadInt32Array();
        float cubicCoefficient = reader.ReadSingle();
        bool excludeOutside = reader.ReadBool();
        if (scales.Length + sizes.Length != 4 || (scales.Length != 0 && sizes.Length != 0) || sizes.Any(s => s < 0))
            throw new PlanFormatException($"The plan is corrupt: Resize '{name}' needs four scales or four sizes.");
        return new ResizeLayer(name, inputs[0], mode, nearest, transform, scales, sizes, cubicCoefficient, excludeOutside);
    }
}
