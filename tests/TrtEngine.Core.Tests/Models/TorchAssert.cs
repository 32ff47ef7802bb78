using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.References;

namespace TrtEngine.Core.Tests.Models;

/// <summary>Runs an engine on a shared model's reference input and compares every output with torch's.</summary>
internal static class TorchAssert
{
    public static void Matches(Engines.TrtEngine engine, string referenceFile, double tolerance)
    {
        var reference = TorchReference.Load(TestPaths.SharedModel(referenceFile));
        var outputs = engine.Run(reference.Inputs.ToDictionary(i => i.Key, i => i.Value.Data), reference.Inputs.ToDictionary(i => i.Key, i => i.Value.Shape));
        foreach (var output in outputs)
        {
            var expected = reference.Outputs[output.Name];
            Assert.Equal(expected.Shape, output.Shape);
            double error = ErrorMetrics.RelativeL2(output.Data, expected.Data);
            Assert.True(error <= tolerance, $"{referenceFile} {output.Name}: relative L2 error {error:E2} > {tolerance:E0}");
        }
    }
}
