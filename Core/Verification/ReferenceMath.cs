namespace TrtEngine.Core.Verification;

/// <summary>Functions .NET lacks, in double precision from their textbook series, for the reference execution.</summary>
internal static class ReferenceMath
{
    /// <summary>
    /// erf(x): below |x| = 3 the series e^(−x²)·2/√π·Σ x(2x²)ⁿ/(1·3·…·(2n+1)), whose terms are all positive (no
    /// cancellation); above, 1 − erfc(x) from erfc's continued fraction, which converges fast for large x.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        if (a < 3)
        {
            double term = x, sum = x, twoX2 = 2 * x * x;
            for (int n = 1; Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
            {
                term *= twoX2 / (2 * n + 1);
                sum += term;
            }
            return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
        }
        // erfc(a) = e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …)))), evaluated from the tail.
        double fraction = a;
        for (int n = 80; n >= 1; n--) fraction = a + n / 2.0 / fraction;
        return Math.CopySign(1 - Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * fraction), x);
    }
}
