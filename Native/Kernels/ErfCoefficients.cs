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

    public const float NearCenter = 1.75f;

    /// <summary>erfc is taken as 0 beyond this (it underflows float anyway).</summary>
    public const float LargeLimit = 10f;

    /// <summary>erf(x)/x as a polynomial in x², |x| ≤ 1.</summary>
    public static ReadOnlySpan<float> OverXSmall =>
    [
        7.882497023e-05f, -8.018854966e-04f, 5.189311940e-03f, -2.685432879e-02f,
        1.128359746e-01f, -3.761262690e-01f, 1.128379166e+00f,
    ];

    /// <summary>erfcx(x) = e^{x²}·erfc(x) as a polynomial in (x - 1.75), 1 ≤ x ≤ 2.5.</summary>
    public static ReadOnlySpan<float> ErfcxNear =>
    [
        1.207577849e-05f, -4.019831566e-05f, 1.078333034e-04f, -3.387219337e-04f, 1.039841477e-03f,
        -3.022520784e-03f, 8.404210257e-03f, -2.225979378e-02f, 5.576363688e-02f, -1.309763528e-01f,
        2.849722347e-01f,
    ];

    /// <summary>x·erfcx(x) as a polynomial in 1/x², 2.5 ≤ x ≤ 10.</summary>
    public static ReadOnlySpan<float> ErfcxFar =>
    [
        -2.552554465e+01f, 2.284217675e+01f, -1.007614493e+01f, 3.262078388e+00f,
        -1.039013782e+00f, 4.226709976e-01f, -2.820887885e-01f, 5.641895547e-01f,
    ];
}
