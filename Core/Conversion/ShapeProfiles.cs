using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Core.Conversion;

/// <summary>Turns the user's shape settings into one profile per network input (defaults included, so the cache key sees them all).</summary>
internal static class ShapeProfiles
{
    public static IReadOnlyDictionary<string, ShapeProfile> Resolve(NetworkDefinition network, ConversionSettings settings)
    {
        var inputs = network.Inputs.Select(i => network.Tensors[i]).ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var given in new[] { settings.InputShapes, settings.MinShapes, settings.OptShapes, settings.MaxShapes })
            foreach (string name in given?.Keys ?? Enumerable.Empty<string>())
                if (!inputs.ContainsKey(name))
                    throw new ShapeException($"A shape was given for '{name}', which is not an input of '{network.Name}'. Its inputs: {string.Join(", ", inputs.Values.Select(t => t.Name + Shapes.Format(t.Dims)))}.");
                else if (given![name].Any(d => d < 1))
                    // An engine for an empty dimension could never run (an inference refuses empty inputs).
                    throw new ShapeException($"The shape given for input '{name}' ({string.Join(", ", given[name])}) has a dimension below 1; every dimension must be at least 1.");

        var profiles = new Dictionary<string, ShapeProfile>(StringComparer.Ordinal);
        foreach (var (name, tensor) in inputs)
        {
            int[]? fixedShape = Get(settings.InputShapes, name), min = Get(settings.MinShapes, name), opt = Get(settings.OptShapes, name), max = Get(settings.MaxShapes, name);
            if (fixedShape is not null)
            {
                if (min is not null || opt is not null || max is not null)
                    throw new ShapeException($"Input '{name}' has both a fixed shape (-InputShape) and a range (-MinShape/-OptShape/-MaxShape); give one or the other.");
                profiles[name] = ShapeProfile.Static(fixedShape);
            }
            else if (min is not null || opt is not null || max is not null)
            {
                // What is not given comes from the default range (from 1 up, unbounded): -OptShape alone tunes for a
                // shape and still runs any size; without -OptShape the engine is tuned for the largest (or smallest) given.
                var range = ShapeProfile.Default(tensor.Dims);
                profiles[name] = new ShapeProfile(min ?? range.Min, opt ?? max ?? min!, max ?? range.Max);
            }
            else profiles[name] = ShapeProfile.Default(tensor.Dims);
        }
        return profiles;
    }

    private static int[]? Get(IReadOnlyDictionary<string, int[]>? shapes, string name) => shapes is not null && shapes.TryGetValue(name, out var s) ? s : null;
}
