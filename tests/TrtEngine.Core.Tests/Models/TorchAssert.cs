using TrtEngine.Testing.Fixtures;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.References;

namespace TrtEngine.Core.Tests.Models;

/// <summary>Runs an engine on a model's reference input and compares every output with torch's.</summary>
internal static class TorchAssert
{
    /// <summary>A shared model's reference (../shared/models/NAME.ref.json.gz: inputs and outputs).</summary>
    public static void Matches(Engines.TrtEngine engine, string referenceFile, double tolerance)
    {
        var reference = TorchReference.Load(TestPaths.SharedModel(referenceFile));
        var outputs = engine.Run(reference.Inputs.ToDictionary(i => i.Key, i => i.Value.Data), reference.Inputs.ToDictionary(i => i.Key, i => i.Value.Shape));
        AssertOutputs(outputs, reference, referenceFile, tolerance);
    }

    /// <summary>A seeded fixture's reference for one weight version (the input is regenerated).</summary>
    public static void Matches(Engines.TrtEngine engine, SeededModel model, int version, double tolerance)
    {
        var outputs = engine.Run(
            new Dictionary<string, float[]> { [model.InputName] = model.Input },
            new Dictionary<string, int[]> { [model.InputName] = model.InputShape });
        AssertOutputs(outputs, TorchReference.Load(model.ReferencePath(version)), $"{model.Name} v{version}", tolerance);
    }

    private static void AssertOutputs(IReadOnlyList<Engines.TrtTensor> outputs, TorchReference reference, string label, double tolerance)
    {
        Assert.Equal(reference.Outputs.Count, outputs.Count);
        foreach (var output in outputs)
        {
            var expected = reference.Outputs[output.Name];
            Assert.Equal(expected.Shape, output.Shape);
            double error = ErrorMetrics.RelativeL2(output.Data, expected.Data);
            Assert.True(error <= tolerance, $"{label} {output.Name}: relative L2 error {error:E2} > {tolerance:E0}");
        }
    }
}
