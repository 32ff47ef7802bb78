namespace TrtEngine.Native.Kernels;

// TEMP: replaced by the kernels branch.
public static unsafe class SoftmaxKernels
{
    public static void Run(float* x, float* y, int outer, int axisLength, int inner)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                float* px = x + (long)o * axisLength * inner + i, py = y + (long)o * axisLength * inner + i;
                float max = float.NegativeInfinity;
                for (int a = 0; a < axisLength; a++) max = Math.Max(max, px[a * inner]);
                double sum = 0;
                for (int a = 0; a < axisLength; a++) { float e = MathF.Exp(px[a * inner] - max); py[a * inner] = e; sum += e; }
                for (int a = 0; a < axisLength; a++) py[a * inner] = (float)(py[a * inner] / sum);
            }
    }
}
