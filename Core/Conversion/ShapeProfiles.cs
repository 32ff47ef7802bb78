using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Core.Conversion;

/// <summary>Turns the user's shape settings into one profile per network input (defaults included, so the cache key sees them all).</summary>
internal static class ShapeProfiles
{
    public static IReadOnlyDictionary<string, ShapeProfile> Resolve(NetworkDefinition network, ConversionSettings settings)
    {
        var inputs = network.Inputs.Select(i => network.Tensors[i]).ToDictionary(t => t.Name, StringComparer.Ordinal);
        CheckNames(settings, network.Name, inputs.Values.Select(t => (t.Name, t.Dims)).ToList());

        var profiles = new Dictionary<string, ShapeProfile>(StringComparer.Ordinal);
        foreach (var (name, tensor) in inputs) profiles[name] = Profile(settings, name, tensor.Dims);
        return profiles;
    }

    /// <summary>
    /// Refuses shapes given for names that are no input of the model <paramref name="modelName"/> (whose inputs and dims
    /// are <paramref name="inputs"/>), or with a dimension below 1. The conversion checks this before the import too: a
    /// fixed shape that fills nothing would otherwise surface as the import's advice to fix the shape.
    /// </summary>
    public static void CheckNames(ConversionSettings settings, string modelName, IReadOnlyCollection<(string Name, int[] Dims)> inputs)
    {
        foreach (var given in new[] { settings.InputShapes, settings.MinShapes, settings.OptShapes, settings.MaxShapes })
            foreach (string name in given?.Keys ?? Enumerable.Empty<string>())
                if (!inputs.Any(i => i.Name == name))
                    throw new ShapeException($"A shape was given for '{name}', which is not an input of '{modelName}'. Its inputs: {string.Join(", ", inputs.Select(i => i.Name + Shapes.Format(i.Dims)))}.");
                else if (given![name].Any(d => d < 1))
                    // An engine for an empty dimension could never run (an inference refuses empty inputs).
                    throw new ShapeException($"The shape given for input '{name}' ({string.Join(", ", given[name])}) has a dimension below 1; every dimension must be at least 1.");
    }

    /// <summary>The profile of the input <paramref name="name"/> whose model dims are <paramref name="dims"/>.</summary>
    private static ShapeProfile Profile(ConversionSettings settings, string name, int[] dims)
    {
        int[]? fixedShape = Get(settings.InputShapes, name), min = Get(settings.MinShapes, name), opt = Get(settings.OptShapes, name), max = Get(settings.MaxShapes, name);
        if (fixedShape is not null)
        {
            if (min is not null || opt is not null || max is not null)
                throw new ShapeException($"Input '{name}' has both a fixed shape (-InputShape) and a range (-MinShape/-OptShape/-MaxShape); give one or the other.");
            return ShapeProfile.Static(fixedShape);
        }
        if (min is null && opt is null && max is null) return ShapeProfile.Default(dims);
        // What is not given comes from the default range (from 1 up, unbounded): -OptShape alone tunes for a shape and
        // still runs any size; without -OptShape the engine is tuned for the largest (or smallest) given.
        var range = ShapeProfile.Default(dims);
        return new ShapeProfile(min ?? range.Min, opt ?? max ?? min!, max ?? range.Max);
    }

    /// <summary>
    /// The one shape the engine will run the input <paramref name="name"/> at, or null: where its profile's ends are
    /// equal (-InputShape, or a range that allows one shape), the import fills the model's dynamic dims with it, so
    /// shape arithmetic that reads them folds, as a refit from the model does from the engine's profiles
    /// (<see cref="Fixed(EnginePlan, int, string)"/>).
    /// </summary>
    public static int[]? Fixed(ConversionSettings settings, string name, int[] dims)
    {
        var profile = Profile(settings, name, dims);
        if (!profile.Min.AsSpan().SequenceEqual(profile.Max)) return null;
        // As the profile check would say, had the import not stopped first at shape arithmetic the shape did not fill.
        if (profile.Min.Length != dims.Length)
            throw new ShapeException($"The shapes given for input '{name}' ({profile}) do not have its rank {dims.Length} ({Shapes.Format(dims)}).");
        return profile.Min;
    }

    /// <summary>
    /// The one shape an engine runs the input <paramref name="name"/> at (its profile's ends equal), or null; an input
    /// the engine names otherwise is its input at <paramref name="position"/>, as the structure digest counts inputs (a
    /// re-export that renamed them is the same graph).
    /// </summary>
    public static int[]? Fixed(EnginePlan plan, int position, string name)
    {
        int i = Enumerable.Range(0, plan.Inputs.Length).FirstOrDefault(i => plan.InputName(i) == name, -1);
        if (i < 0) i = position < plan.Inputs.Length ? position : -1;
        return i >= 0 && plan.Profiles[i].Min.AsSpan().SequenceEqual(plan.Profiles[i].Max) ? plan.Profiles[i].Min : null;
    }

    private static int[]? Get(IReadOnlyDictionary<string, int[]>? shapes, string name) => shapes is not null && shapes.TryGetValue(name, out var s) ? s : null;
}
