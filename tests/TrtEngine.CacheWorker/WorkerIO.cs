using System.Security.Cryptography;

namespace TrtEngine.CacheWorker;

/// <summary>What the worker and the tests that start it must agree on: the input an engine is run with and how outputs are compared.</summary>
public static class WorkerIO
{
    /// <summary>Deterministic inputs at each input's optimal shape (the same in every process).</summary>
    public static (Dictionary<string, float[]> Values, Dictionary<string, int[]> Shapes) Inputs(Core.Engines.TrtEngine engine)
    {
        var values = new Dictionary<string, float[]>();
        var shapes = new Dictionary<string, int[]>();
        foreach (var input in engine.Inputs)
        {
            int[] shape = input.OptShape ?? input.Shape;
            var random = new Random(input.Name.Length * 7919 + shape.Length);
            values[input.Name] = Enumerable.Range(0, shape.Aggregate(1, (a, d) => a * d)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            shapes[input.Name] = shape;
        }
        return (values, shapes);
    }

    /// <summary>SHA-256 of every output's bytes, in order: equal digests mean bit-identical outputs.</summary>
    public static string OutputDigest(Core.Engines.TrtEngine engine)
    {
        var (values, shapes) = Inputs(engine);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var output in engine.Run(values, shapes)) hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(output.Data.AsSpan()));
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
