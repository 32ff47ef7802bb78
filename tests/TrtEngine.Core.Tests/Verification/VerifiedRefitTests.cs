using TrtEngine.Core.Conversion;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Tests.Models;
using TrtEngine.Core.Tests.Refitting;
using TrtEngine.Core.Verification;
using TrtEngine.Testing.Metrics;

namespace TrtEngine.Core.Tests.Verification;

/// <summary>
/// Refit with verification: the new state runs aside against the reference execution of the model with the new
/// weights before it is swapped in; a failure leaves the engine exactly as it was.
/// </summary>
public sealed class VerifiedRefitTests
{
    [Fact]
    public void A_verified_refit_reports_the_error_of_every_output_on_generated_or_given_inputs()
    {
        using var dir = new TempDirectory();
        var engine = SmallCnn.Build(SmallCnn.Write(dir, 10));
        var v2 = WeightSources.FromFile(SmallCnn.Write(dir, 20));

        var generated = engine.Refit(v2, verify: new RefitVerificationOptions()).Verification!;
        Assert.True(generated.Passed);
        Assert.True(generated.GeneratedInputs);
        Assert.Equal(0, generated.Seed);
        Assert.Equal(RefitVerificationOptions.DefaultTolerance, generated.Tolerance);
        var output = Assert.Single(generated.Outputs);
        Assert.Equal("y", output.Name);
        Assert.Equal([2, 5], output.Shape);
        Assert.InRange(output.RelativeL2, 1e-12, 1e-5); // float32 kernels against float64: small, never exactly zero

        var given = engine.Refit(v2, verify: new RefitVerificationOptions
        {
            Inputs = new Dictionary<string, float[]> { ["x"] = SmallCnn.Input }, Tolerance = 1e-5,
        }).Verification!;
        Assert.True(given.Passed);
        Assert.False(given.GeneratedInputs);
        Assert.Null(given.Seed);
    }

    [Theory]
    [InlineData(-1e-5)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void A_tolerance_below_zero_or_NaN_is_refused_before_the_refit(double tolerance)
    {
        // Found by a QA helper: it failed every verification with "above the tolerance NaN. Check the weights".
        using var dir = new TempDirectory();
        var engine = SmallCnn.Build(SmallCnn.Write(dir, 10));
        float[] before = SmallCnn.Run(engine);

        Assert.Throws<ArgumentOutOfRangeException>(() =>
            engine.Refit(WeightSources.FromFile(SmallCnn.Write(dir, 20)), verify: new RefitVerificationOptions { Tolerance = tolerance }));
        Assert.Equal(before, SmallCnn.Run(engine));
        Assert.Equal(0, engine.RefitCount);
        Assert.True(engine.Refit(WeightSources.FromFile(SmallCnn.Write(dir, 20)), verify: new RefitVerificationOptions { Tolerance = 0.5 }).Verification!.Passed);
    }

    [Fact]
    public void A_failed_verification_leaves_the_engine_untouched()
    {
        using var dir = new TempDirectory();
        var engine = SmallCnn.Build(SmallCnn.Write(dir, 10));
        var buffers = engine.Native.CurrentWeights;
        float[] before = SmallCnn.Run(engine);

        var failed = Assert.Throws<RefitVerificationException>(() =>
            engine.Refit(WeightSources.FromFile(SmallCnn.Write(dir, 20)), verify: new RefitVerificationOptions { Tolerance = 0 }));
        Assert.False(failed.Verification.Passed);
        Assert.True(failed.Verification.MaxRelativeL2 > 0);
        Assert.Contains("keeps its previous weights", failed.Message);
        Assert.Same(buffers, engine.Native.CurrentWeights);
        Assert.Equal(before, SmallCnn.Run(engine));
        Assert.Equal(0, engine.RefitCount);
    }

    [Fact]
    public void A_cancelled_verification_abandons_the_refit_and_the_engine_keeps_its_weights()
    {
        // Ctrl+C during Update-TrtEngineWeights -Verify: the refit must not go ahead without the check it was asked for.
        using var dir = new TempDirectory();
        var engine = SmallCnn.Build(SmallCnn.Write(dir, 10));
        var buffers = engine.Native.CurrentWeights;
        float[] before = SmallCnn.Run(engine);
        using var stop = new CancellationTokenSource();
        stop.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() =>
            engine.Refit(WeightSources.FromFile(SmallCnn.Write(dir, 20)), verify: new RefitVerificationOptions { Cancel = stop.Token }));
        Assert.Same(buffers, engine.Native.CurrentWeights);
        Assert.Equal(before, SmallCnn.Run(engine));
        Assert.Equal(0, engine.RefitCount);
    }

    [Fact]
    public void A_verification_against_another_model_fails_and_changes_nothing()
    {
        // The reference runs the model named by ModelPath: one whose graph computes something else is caught.
        using var dir = new TempDirectory();
        var engine = SmallCnn.Build(SmallCnn.Write(dir, 10));
        float[] before = SmallCnn.Run(engine);
        var other = new Testing.Onnx.OnnxModelBuilder();
        other.AddInput("x", Core.Onnx.OnnxDataType.Float, 2, 3, 8, 8);
        foreach (var (name, value) in WeightSources.FromFile(SmallCnn.Write(dir, 20)))
            other.AddInitializer(name, value.Data, value.Shape.Select(d => (long)d).ToArray());
        other.AddNode("Conv", ["x", "w", "b"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }));
        other.AddNode("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"]);
        other.AddNode("Sigmoid", ["n"], ["r"]); // Relu in the engine's model
        other.AddNode("GlobalAveragePool", ["r"], ["g"]);
        other.AddNode("Flatten", ["g"], ["f"]);
        other.AddNode("Gemm", ["f", "wg", "bg"], ["y"], ("transB", 1L));
        other.AddOutput("y", Core.Onnx.OnnxDataType.Float);
        string otherPath = dir.File("other.onnx");
        other.Save(otherPath);

        var failed = Assert.Throws<RefitVerificationException>(() =>
            engine.Refit(WeightSources.FromFile(otherPath), verify: new RefitVerificationOptions { ModelPath = otherPath }));
        Assert.True(failed.Verification.MaxRelativeL2 > 1e-2, $"error {failed.Verification.MaxRelativeL2:E2}");
        Assert.Equal(before, SmallCnn.Run(engine));
    }

    [Fact]
    public void An_engine_that_does_not_know_its_model_cannot_be_verified_and_is_left_untouched()
    {
        using var dir = new TempDirectory();
        string path = SmallCnn.Write(dir, 10);
        var imported = SmallCnn.RoundTrip(SmallCnn.Build(path), weights: true);
        float[] before = SmallCnn.Run(imported);
        var v2 = WeightSources.FromFile(SmallCnn.Write(dir, 20));

        var error = Assert.Throws<VerificationUnavailableException>(() => imported.Refit(v2, verify: new RefitVerificationOptions()));
        Assert.Contains("does not know its ONNX model", error.Message);
        Assert.Equal(before, SmallCnn.Run(imported));
        Assert.True(imported.Refit(v2, verify: new RefitVerificationOptions { ModelPath = path }).Verification!.Passed);
    }

    [SkippableTheory]
    [InlineData("mlp")]
    [InlineData("mobilenet_v2")]
    [InlineData("squeezenet1_1")]
    public void Shared_models_refitted_v1_to_v2_pass_verification_and_match_torch(string model)
    {
        var engine = EngineConverter.Convert(TestPaths.SharedModel($"{model}_v1.onnx"), new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        string v2 = TestPaths.SharedModel($"{model}_v2.onnx");
        var verification = engine.Refit(WeightSources.FromFile(v2), verify: new RefitVerificationOptions { ModelPath = v2 }).Verification!;
        Assert.True(verification.Passed, verification.ToString());
        Assert.True(verification.MaxRelativeL2 <= 1e-4, verification.ToString());
        TorchAssert.Matches(engine, $"{model}_v2.ref.json.gz", 1e-4);

        // Back to v1, verified against the engine's own model (v1's structure) with the refit's weights.
        var back = engine.Refit(WeightSources.FromFile(TestPaths.SharedModel($"{model}_v1.onnx")), verify: new RefitVerificationOptions { Seed = 7 }).Verification!;
        Assert.True(back.Passed, back.ToString());
        Assert.Equal(7, back.Seed);
    }
}
