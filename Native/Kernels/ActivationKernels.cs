using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TrtEngine.Native.Kernels;

/// <summary>Element-wise activations over contiguous float buffers.</summary>
public static unsafe class ActivationKernels
{
    /// <summary>y[i] = f(x[i]) for i in [0, length); x may equal y.</summary>
    public static void Apply(in Activation activation, float* x, float* y, nint length)
    {
        if (activation.Kind == ActivationKind.Identity)
        {
            if (x != y)
                CopyKernels.CopyBytes(x, y, length * sizeof(float));
            return;
        }
        Rows(activation, x, y, length, 1, length);
    }

    /// <summary>
    /// y = f(y) over <paramref name="rows"/> rows of <paramref name="columns"/> floats, <paramref name="stride"/> apart
    /// (a GEMM tile's epilogue): one dispatch for the tile, where one per row of 16 or 32 floats cost more than the math.
    /// </summary>
    public static void ApplyRows(in Activation activation, float* y, nint stride, int rows, nint columns)
    {
        if (activation.Kind != ActivationKind.Identity) Rows(activation, y, y, stride, rows, columns);
    }

    /// <summary>y = f(x) over rows of <paramref name="columns"/> floats, <paramref name="stride"/> apart in both.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(in Activation activation, float* x, float* y, nint stride, int rows, nint columns)
    {
        if (!VectorMath.IsSupported)
        {
            for (int r = 0; r < rows; r++)
                for (nint i = 0; i < columns; i++)
                    y[r * stride + i] = ScalarMath.Apply(activation, x[r * stride + i]);
            return;
        }
        // One loop per function, specialised by the JIT, so the math inlines and iterations overlap.
        switch (activation.Kind)
        {
            case ActivationKind.Erf: MapRowsWide(new ErfFunction(), x, y, stride, rows, columns); return;
            case ActivationKind.Gelu: MapRowsWide(new GeluFunction(), x, y, stride, rows, columns); return;
            case ActivationKind.Exp: MapRowsWide(new ExpFunction(), x, y, stride, rows, columns); return;
            case ActivationKind.Sigmoid: MapRowsWide(new SigmoidFunction(), x, y, stride, rows, columns); return;
            case ActivationKind.Silu: MapRowsWide(new SiluFunction(), x, y, stride, rows, columns); return;
            case ActivationKind.Tanh: MapRowsWide(new TanhFunction(), x, y, stride, rows, columns); return;
            // MobileNetV3's: cheap enough that a switch per vector (AnyFunction) cost several times the math.
            case ActivationKind.HardSwish: MapRows(new HardSwishFunction(), x, y, stride, rows, columns); return;
            case ActivationKind.HardSigmoid: MapRows(new HardSigmoidFunction(activation.Alpha, activation.Beta), x, y, stride, rows, columns); return;
            default: MapRows(new AnyFunction(activation), x, y, stride, rows, columns); return;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MapRows<TFunction>(TFunction function, float* x, float* y, nint stride, int rows, nint columns) where TFunction : struct, IVectorFunction
    {
        for (int r = 0; r < rows; r++, x += stride, y += stride) Map(function, x, y, columns);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MapRowsWide<TFunction>(TFunction function, float* x, float* y, nint stride, int rows, nint columns) where TFunction : struct, IWideFunction
    {
        for (int r = 0; r < rows; r++, x += stride, y += stride) MapWide(function, x, y, columns);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Map<TFunction>(TFunction function, float* x, float* y, nint length) where TFunction : struct, IVectorFunction
    {
        nint i = 0;
        for (; i <= length - 8; i += 8)
            Avx.Store(y + i, function.Apply(Avx.LoadVector256(x + i)));
        if (i < length) MapTail(function, x + i, y + i, length - i);
    }

    /// <summary>The last (fewer than 8) floats through the same vector code, so every element gets identical rounding.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MapTail<TFunction>(TFunction function, float* x, float* y, nint rest) where TFunction : struct, IVectorFunction
    {
        float* tail = stackalloc float[8];
        Avx.Store(tail, Vector256<float>.Zero);
        Buffer.MemoryCopy(x, tail, 8 * sizeof(float), rest * sizeof(float));
        Avx.Store(tail, function.Apply(Avx.LoadVector256(tail)));
        Buffer.MemoryCopy(tail, y, rest * sizeof(float), rest * sizeof(float));
    }

    /// <summary>512 bits at a time where the CPU has them (these functions are compute-bound), the rest as <see cref="Map"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MapWide<TFunction>(TFunction function, float* x, float* y, nint length) where TFunction : struct, IWideFunction
    {
        nint i = 0;
        if (GemmMicroKernels.WideSupported)
            for (; i <= length - 16; i += 16)
                function.Apply(Vector512.Load(x + i)).Store(y + i);
        Map(function, x + i, y + i, length - i);
    }

    private interface IVectorFunction
    {
        Vector256<float> Apply(Vector256<float> x);
    }

    private interface IWideFunction : IVectorFunction
    {
        Vector512<float> Apply(Vector512<float> x);
    }

    private readonly struct ErfFunction : IWideFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Apply(Vector256<float> x) => VectorMath.Erf<Float256, Vector256<float>>(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Apply(Vector512<float> x) => VectorMath.Erf<Float512, Vector512<float>>(x);
    }

    private readonly struct GeluFunction : IWideFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Apply(Vector256<float> x) => VectorMath.Gelu<Float256, Vector256<float>>(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Apply(Vector512<float> x) => VectorMath.Gelu<Float512, Vector512<float>>(x);
    }

    private readonly struct ExpFunction : IWideFunction
    {
        public Vector256<float> Apply(Vector256<float> x) => VectorMath.Exp(x);

        public Vector512<float> Apply(Vector512<float> x) => VectorMath.Exp<Float512, Vector512<float>>(x);
    }

    private readonly struct SigmoidFunction : IWideFunction
    {
        public Vector256<float> Apply(Vector256<float> x) => VectorMath.Sigmoid(x);

        public Vector512<float> Apply(Vector512<float> x) => VectorMath.Sigmoid<Float512, Vector512<float>>(x);
    }

    private readonly struct SiluFunction : IWideFunction
    {
        public Vector256<float> Apply(Vector256<float> x) => VectorMath.Silu(x);

        public Vector512<float> Apply(Vector512<float> x) => VectorMath.Silu<Float512, Vector512<float>>(x);
    }

    private readonly struct TanhFunction : IWideFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Apply(Vector256<float> x) => VectorMath.Tanh<Float256, Vector256<float>>(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Apply(Vector512<float> x) => VectorMath.Tanh<Float512, Vector512<float>>(x);
    }

    private readonly struct HardSwishFunction : IVectorFunction
    {
        public Vector256<float> Apply(Vector256<float> x) => HardSwish(x);
    }

    private readonly struct HardSigmoidFunction(float alpha, float beta) : IVectorFunction
    {
        public Vector256<float> Apply(Vector256<float> x) => HardSigmoid(x, alpha, beta);
    }

    /// <summary>max(0, min(1, α·x + β)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HardSigmoid(Vector256<float> x, float alpha, float beta) =>
        VectorMath.Min(Vector256.Create(1f), VectorMath.Max(Vector256<float>.Zero, Fma.MultiplyAdd(x, Vector256.Create(alpha), Vector256.Create(beta))));

    /// <summary>x·max(0, min(1, x/6 + ½)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HardSwish(Vector256<float> x) => Avx.Multiply(x, HardSigmoid(x, 1f / 6f, 0.5f));

    private readonly struct AnyFunction(Activation activation) : IVectorFunction
    {
        public Vector256<float> Apply(Vector256<float> x) => ActivationKernels.Apply(activation, x);
    }

    /// <summary>The activation on one vector (AVX2/FMA required); used by fused kernel epilogues.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Vector256<float> Apply(in Activation activation, Vector256<float> x)
    {
        var zero = Vector256<float>.Zero;
        var one = Vector256.Create(1f);
        switch (activation.Kind)
        {
            case ActivationKind.Identity:
                return x;
            case ActivationKind.Relu:
                return VectorMath.Max(zero, x);
            case ActivationKind.Sigmoid:
                return VectorMath.Sigmoid(x);
            case ActivationKind.Tanh:
                return VectorMath.Tanh(x);
            case ActivationKind.Erf:
                return VectorMath.Erf(x);
            case ActivationKind.Gelu:
                return VectorMath.Gelu(x);
            case ActivationKind.Clip:
                return VectorMath.Min(Vector256.Create(activation.Beta), VectorMath.Max(Vector256.Create(activation.Alpha), x));
            case ActivationKind.LeakyRelu:
                var scaled = Avx.Multiply(x, Vector256.Create(activation.Alpha));
                return Avx.BlendVariable(x, scaled, Avx.CompareLessThan(x, zero));
            case ActivationKind.HardSigmoid:
                return HardSigmoid(x, activation.Alpha, activation.Beta);
            case ActivationKind.HardSwish:
                return HardSwish(x);
            case ActivationKind.Exp:
                return VectorMath.Exp(x);
            case ActivationKind.Neg:
                return Avx.Xor(x, Vector256.Create(-0f));
            case ActivationKind.Abs:
                return VectorMath.Abs(x);
            case ActivationKind.Sqrt:
                return Avx.Sqrt(x);
            case ActivationKind.Reciprocal:
                return Avx.Divide(one, x);
            case ActivationKind.Silu:
                return VectorMath.Silu(x);
            case ActivationKind.Floor:
                return Avx.Floor(x);
            case ActivationKind.Ceil:
                return Avx.Ceiling(x);
            case ActivationKind.Round:
                return Avx.RoundToNearestInteger(x);
            case ActivationKind.Elu or ActivationKind.Selu or ActivationKind.Softplus or ActivationKind.Softsign or ActivationKind.Log or ActivationKind.Mish
                or ActivationKind.Sign or ActivationKind.Sin or ActivationKind.Cos:
                return ByElement(activation, x);
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation.Kind, "Unknown activation.");
        }
    }

    /// <summary>Activations with no vector form here (rarer ones: ELU, SELU, Softplus, Softsign, Log, Mish, Sign, Sin, Cos), element by element.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector256<float> ByElement(in Activation activation, Vector256<float> x)
    {
        var result = Vector256<float>.Zero;
        for (int i = 0; i < Vector256<float>.Count; i++) result = result.WithElement(i, ScalarMath.Apply(activation, x.GetElement(i)));
        return result;
    }
}
