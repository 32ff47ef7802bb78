namespace TrtEngine.Native.Kernels;

// TEMP: replaced by the kernels branch.
public static unsafe class ActivationKernels
{
    public static void Apply(in Activation a, float* x, float* y, nint length)
    {
        for (nint i = 0; i < length; i++)
        {
            double v = x[i];
            y[i] = (float)(a.Kind switch
            {
                ActivationKind.Identity => v,
                ActivationKind.Relu => Math.Max(v, 0),
                ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-v)),
                ActivationKind.Tanh => Math.Tanh(v),
                ActivationKind.Erf => Erf(v),
                ActivationKind.Gelu => v * 0.5 * (1 + Erf(v / Math.Sqrt(2))),
                ActivationKind.Clip => Math.Min(Math.Max(v, a.Alpha), a.Beta),
                ActivationKind.LeakyRelu => v >= 0 ? v : v * a.Alpha,
                ActivationKind.HardSigmoid => Math.Max(0, Math.Min(1, a.Alpha * v + a.Beta)),
                ActivationKind.HardSwish => v * Math.Max(0, Math.Min(1, v / 6 + 0.5)),
                ActivationKind.Exp => Math.Exp(v),
                ActivationKind.Neg => -v,
                ActivationKind.Abs => Math.Abs(v),
                ActivationKind.Sqrt => Math.Sqrt(v),
                ActivationKind.Reciprocal => 1 / v,
                _ => throw new NotSupportedException(),
            });
        }
    }

    private static double Erf(double x)
    {
        double t = 1 / (1 + 0.5 * Math.Abs(x));
        double y = 1 - t * Math.Exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? y : -y;
    }
}
