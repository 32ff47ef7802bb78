using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Network;
using TrtEngine.Native.Refit;
using NativeEngine = TrtEngine.Native.Runtime.Engine;

namespace TrtEngine.Core.Verification;

/// <summary>
/// Checks a refit before it is applied: runs the candidate engine (the new state, not yet swapped in) and the
/// reference execution of the model with the same model weights on the same inputs, and compares every output.
/// </summary>
internal static class RefitVerifier
{
    /// <summary>
    /// What verifying a refit of <paramref name="target"/> with <paramref name="weights"/> needs, checked before the refit
    /// computes anything (and for -WhatIf, which then reports what the refit would refuse): a model to build the reference
    /// from, every model weight either supplied or kept by the engine, and inputs the engine takes. Returns the model's path.
    /// </summary>
    public static string Check(Engines.TrtEngine target, IReadOnlyDictionary<string, WeightValue> weights, RefitVerificationOptions options)
    {
        var kept = target.Native.LiveState.ModelValues;
        var unknown = target.Native.Plan.ModelWeights.Where(m => m.Kind != WeightKind.Computed && !weights.ContainsKey(m.Name) && !kept.ContainsKey(m.Name))
            .Select(m => m.Name).ToList();
        if (unknown.Count > 0)
            throw new VerificationUnavailableException($"Cannot verify the refit of '{target.Name}': the engine was loaded with packed weights only and this refit does not supply {unknown.Count} model weight(s) ({string.Join(", ", unknown.Take(8))}{(unknown.Count > 8 ? ", …" : "")}). Refit without -Partial once, or verify a full refit.");
        string modelPath = options.ModelPath ?? target.ModelPath
            ?? throw new VerificationUnavailableException($"Cannot verify the refit of '{target.Name}': the engine does not know its ONNX model (it was imported from a plan). Refit it from the .onnx model with -Verify; the engine then keeps that model for verifying later refits.");
        if (!File.Exists(modelPath))
            throw new VerificationUnavailableException($"Cannot verify the refit of '{target.Name}': model '{modelPath}', which the verification runs with the new weights, does not exist (any more). Restore it, verify a refit from the .onnx model, or refit without -Verify.");
        if (options.Inputs is not null) target.CheckInputs(options.Inputs, options.InputShapes);
        return modelPath;
    }

    /// <summary>Runs the candidate and the reference; <see cref="Check"/> has passed for this refit and gave <paramref name="modelPath"/>.</summary>
    public static RefitVerification Run(NativeEngine candidate, Engines.TrtEngine target, RefitVerificationOptions options, string modelPath)
    {
        var plan = candidate.Plan;
        var values = candidate.CurrentState.ModelValues;
        var supplied = plan.ModelWeights.Where(m => m.Kind != WeightKind.Computed).ToList(); // computed ones the import derives again

        // The model's own structure with the engine's new model weights (bound by name, also covering weights that are graph inputs).
        var bound = supplied.ToDictionary(m => m.Name, m => new WeightTensor(m.Name, m.Shape, values[m.Name]), StringComparer.Ordinal);
        NetworkDefinition network = OnnxModel.Borrow(modelPath, model => OnnxImporter.Import(model, plan.Name, bound, (position, input, _) => ShapeProfiles.Fixed(plan, position, input)));
        if (network.Inputs.Count != target.Inputs.Length || network.Outputs.Count != target.Outputs.Length)
            throw new VerificationUnavailableException($"Cannot verify the refit of '{target.Name}': model '{modelPath}' has {network.Inputs.Count} inputs and {network.Outputs.Count} outputs, the engine {target.Inputs.Length} and {target.Outputs.Length}.");

        var inputs = options.Inputs ?? Generate(target, options.Seed);
        var inputShapes = target.CheckInputs(inputs, options.InputShapes);
        var shapes = target.Inputs.Select((info, i) => (info.Name, Shape: inputShapes[i])).ToDictionary(p => p.Name, p => p.Shape, StringComparer.Ordinal);
        options.Cancel.ThrowIfCancellationRequested();
        var actual = new Engines.TrtEngine(candidate, target.ModelPath, null, false, TimeSpan.Zero, null).Run(inputs, shapes);

        // Engine and network inputs and outputs correspond by position (a cache hit may serve other names).
        var referenceInputs = target.Inputs.Select((info, i) => (Name: network.Tensors[network.Inputs[i]].Name, Value: (shapes[info.Name], inputs[info.Name])))
                                           .ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        var expected = new ReferenceExecutor(network).Run(referenceInputs, options.Cancel);
        var outputs = actual.Select((output, o) =>
        {
            var reference = expected[network.Tensors[network.Outputs[o]].Name];
            if (!reference.Shape.AsSpan().SequenceEqual(output.Shape))
                throw new VerificationUnavailableException($"Cannot verify output '{output.Name}': the engine's shape {Shapes.Format(output.Shape)} differs from the reference's {Shapes.Format(reference.Shape)}.");
            return new VerifiedOutput(output.Name, output.Shape, RelativeL2(output.Data, reference.Data));
        }).ToList();
        return new RefitVerification
        {
            EngineName = target.Name, Tolerance = options.Tolerance, Outputs = outputs,
            GeneratedInputs = options.Inputs is null, Seed = options.Inputs is null ? options.Seed : null,
        };
    }

    /// <summary>
    /// Seeded uniform values in [-1, 1) at every input's opt shape (inside the engine's profile by construction); for an
    /// integer or bool input, 0 and 1 (token ids any vocabulary holds, masks either way).
    /// </summary>
    private static Dictionary<string, float[]> Generate(Engines.TrtEngine engine, int seed)
    {
        var random = new Random(seed);
        return engine.Inputs.ToDictionary(i => i.Name, i =>
        {
            var data = new float[Shapes.ElementCount(i.OptShape)];
            bool integers = i.DataType != nameof(ElementType.Float32);
            for (int k = 0; k < data.Length; k++) data[k] = integers ? random.Next(2) : (float)(random.NextDouble() * 2 - 1);
            return data;
        }, StringComparer.Ordinal);
    }

    /// <summary>‖actual − expected‖₂ / ‖expected‖₂ (the absolute norm when the reference is all zeros); NaN anywhere gives NaN.</summary>
    private static double RelativeL2(float[] actual, double[] expected)
    {
        double difference = 0, norm = 0;
        for (long i = 0; i < expected.LongLength; i++)
        {
            double d = actual[i] - expected[i];
            difference += d * d;
            norm += expected[i] * expected[i];
        }
        return norm == 0 ? Math.Sqrt(difference) : Math.Sqrt(difference / norm);
    }
}
