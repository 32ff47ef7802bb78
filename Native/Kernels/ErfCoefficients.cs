namespace TrtEngine.Native.Kernels;

/// <summary>
/// Polynomial fits for erf/erfc, shared by the vector and scalar paths (highest degree first).
/// Fitted for this project by Chebyshev interpolation in double precision, then checked in float arithmetic.
/// </summary>
internal static class ErfCoefficients
{
    /// <summary>|x| below this uses <see cref="OverXSmall"/>.</summary>
    public const float SmallLimit = 1f;

    /// <summary>Between <see cref="SmallLimit"/> and this, erfcx uses <see cref="ErfcxNear"/> in (x - <see cref="NearCenter"/>).</summary>
    public const float NearLimit = 2.5f;

    public const float NearCenter = 1.5f;

    /// <summary>Gelu computes 1 + erf(z) as erfc(-z) for z at or below minus this, avoiding cancellation.</summary>
    public const float GeluTailLimit = 0.5f;

    /// <summary>erfc is taken as 0 beyond this (2e-45 at it: it underflows float anyway).</summary>
    public const float LargeLimit = 10f;

    /// <summary>erf(x)/x as a polynomial in x², |x| ≤ 1.</summary>
    public static ReadOnlySpan<float> OverXSmall =>
    [
        7.882497023e-05f, -8.018854966e-04f, 5.189311940e-03f, -2.685432879e-02f,
        1.128359746e-01f, -3.761262690e-01f, 1.128379166e+00f,
    ];

    /// <summary>erfcx(x) = e^{x²}·erfc(x) as a polynomial in (x - 1.5), 0.45 ≤ x ≤ 2.55.</summary>
    public static ReadOnlySpan<float> ErfcxNear =>
    [
        -9.528654189e-06f, 3.101968653e-05f, -6.893522091e-05f, 2.126141590e-04f, -6.644634948e-04f,
        1.892421554e-03f, -5.145129006e-03f, 1.337568911e-02f, -3.293102078e-02f, 7.615119771e-02f,
        -1.636229131e-01f, 3.215854140e-01f,
    ];

    /// <summary>x·erfcx(x) as a polynomial in 1/x², 2.5 ≤ x ≤ 10.</summary>
    public static ReadOnlySpan<float> ErfcxFar =>
    [
        -2.552554465e+01f, 2.284217675e+01f, -1.007614493e+01f, 3.262078388e+00f,
        -1.039013782e+00f, 4.226709976e-01f, -2.820887885e-01f, 5.641895547e-01f,
    ];
}
