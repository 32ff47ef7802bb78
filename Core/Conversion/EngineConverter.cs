using System.Diagnostics;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Builder;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using TrtEngineModel = TrtEngine.Core.Engines.TrtEngine;

namespace TrtEngine.Core.Conversion;

/// <summary>
/// The one conversion path: import the model, compute the key, and either pull the stripped engine from the
/// cache and refit it with this model's weights, or build, insert the stripped engine, and return the full one.
/// Every entry point goes through here, so the cache behaves the same whatever the model's weights came from.
/// </summary>
public static class EngineConverter
{
    public static TrtEngineModel Convert(string modelPath, ConversionSettings settings, IConversionEvents? events = null, CancellationToken cancel = default) =>
        TryConvert(modelPath, settings, confirm: null, events, cancel)!;

    /// <summary>
    /// <see cref="Convert"/>, asking <paramref name="confirm"/> once, with what the conversion would do (a hit's load
    /// and refit, a build and where it is stored), after the model is imported and its key computed and before
    /// anything is written; when it answers false nothing is written (no entry, hit, lock, hint or timings) and the
    /// result is null. New-TrtEngine's -WhatIf and -Confirm.
    /// </summary>
    public static TrtEngineModel? TryConvert(string modelPath, ConversionSettings settings, Func<string, bool>? confirm, IConversionEvents? events = null,
                                             CancellationToken cancel = default)
    {
        var watch = Stopwatch.StartNew();
        string name = Path.GetFileNameWithoutExtension(modelPath);
        if (settings.WeightsPath is { } weightsPath && weightsPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new WeightFormatException($"{weightsPath}: -WeightsPath takes a safetensors or torch checkpoint, not an ONNX model. Convert that model itself, or refit an engine with its weights (Update-TrtEngineWeights -Path).");
        var bound = settings.WeightsPath is null ? null : BoundWeights(settings.WeightsPath, settings.WeightNames);
        int threads = settings.Threads ?? Environment.ProcessorCount;
        // The size limit is read only when an entry is stored: a damaged settings file then costs the cache the entry
        // (a warning), never the user the engine, and hits and -WhatIf do not read it at all.
        IEngineStore? store = !settings.UseCache ? null
            : settings.Store ?? new DiskEngineStore(settings.CacheDirectory ?? DiskEngineStore.DefaultDirectory, settings.CacheSizeLimit, m => events?.Verbose(m));
        // Weights bound from a checkpoint change the imported structure, so such a conversion neither guesses nor is remembered.
        string? identity = store is null || bound is not null ? null : HintIdentity(modelPath, settings, threads);
        int[]? FixedShape(int position, string input, int[] dims) => ShapeProfiles.Fixed(settings, input, dims);
        // Before any import, the prepared one included: shapes given for names the model lacks are said as such.
        void Check(OnnxModel model)
        {
            if (bound is not null) CheckBoundWeights(model, bound, settings.WeightsPath!, settings.AllowNonFinite, events);
            ShapeProfiles.CheckNames(settings, name, OnnxImporter.RuntimeInputs(model.Graph, bound)
                .Select(i => (i.Name, i.Shape is null ? [] : OnnxImporter.Dims(i.Shape))).ToList());
        }
        // The model's weights go into pooled buffers: the engine made here keeps them and hands them back when disposed.
        NetworkDefinition Import() => OnnxModel.Borrow(modelPath, model =>
        {
            Check(model);
            return OnnxImporter.Import(model, name, bound, WeightPool.Rent, FixedShape);
        }, allocate: WeightPool.Rent);
        var (network, guess) = identity is not null && !settings.Force
            ? GuessedEntry.Import(store!, identity, modelPath, Import, refit: !settings.StripWeights, FixedShape, Check) : (Import(), null);
        using var guessed = guess;
        string? timingPath = settings.TimingCachePath
            ?? (settings.UseCache && settings.Store is null ? Path.Combine(settings.CacheDirectory ?? DiskEngineStore.DefaultDirectory, "timing.cache") : null);
        var config = new BuilderConfig
        {
            OptimizationLevel = settings.OptimizationLevel,
            Threads = threads,
            Profiles = ShapeProfiles.Resolve(network, settings),
        };
        events?.Verbose($"Imported '{modelPath}': {network.Layers.Count} layers, {network.Weights.Count} weights, inputs {string.Join(", ", network.Inputs.Select(i => network.Tensors[i].Name + Shapes.Format(network.Tensors[i].Dims)))}.");

        if (store is null)
        {
            if (confirm?.Invoke("Build an engine without the cache (nothing is stored)") == false) return Declined(network, guessed);
            events?.Verbose("Cache not used (-NoCache).");
            var built = Build(network, config, timingPath, events, cancel);
            return Finish(built, modelPath, null, false, watch, null, settings);
        }

        var hardware = HardwareInfo.Current(config.Threads);
        // Checked before the cache is touched: shapes that do not fit the model leave no lock, count and entry behind.
        var profiles = EngineBuilder.ResolveProfiles(network, config);
        string key = CacheKey.Compute(network, profiles, config, hardware);
        events?.Verbose($"Cache key {key} in {store.Location}.");
        if (confirm is not null && !confirm(Intent(store, key, settings, hit: guess?.Key == key || store.Contains(key)))) return Declined(network, guessed);

        if (!settings.Force && TryPull(store, key, network, profiles, modelPath, watch, settings, events, reportMiss: true, guess?.Key == key ? guess.Engine : null) is { } hit)
            return Remembered(hit, store, identity, changed: guess?.Key != hit.CacheKey);
        IDisposable buildLock;
        try
        {
            buildLock = store.AcquireBuildLock(key, cancel);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A cache that cannot be written (full, read-only) must not cost the user the engine: build it uncached.
            events?.Warning($"The cache in {store.Location} cannot be written ({e.Message}); the engine is built without it.");
            // A file where the cache should be has no room for its timing cache either: saving one would only warn again.
            bool noCacheFolder = e is CacheDirectoryIsFileException && settings.TimingCachePath is null;
            return Finish(Build(network, config, noCacheFolder ? null : timingPath, events, cancel), modelPath, null, false, watch, null, settings);
        }
        using (buildLock)
        {
            // Another process may have built it while this one waited for the lock.
            if (!settings.Force && TryPull(store, key, network, profiles, modelPath, watch, settings, events, reportMiss: false) is { } late) return Remembered(late, store, identity, changed: guess?.Key != late.CacheKey);
            // The miss was said with its reason by the lookup.
            events?.Verbose(settings.Force ? "Rebuilding (-Force)." : "Building the engine.");
            if (!settings.Force) store.RecordMiss(key);
            var engine = Build(network, config, timingPath, events, cancel);
            bool stored = Insert(store, key, engine, modelPath, watch.Elapsed, events);
            var built = Finish(engine, modelPath, key, false, watch, store.Location, settings);
            // Hinted only once stored (a hint names an entry the cache holds), and again even when the old hint named
            // this key: the lookup may have removed a damaged entry, and its hints with it.
            return stored ? Remembered(built, store, identity, changed: true) : built;
        }
    }

    /// <summary>
    /// A declined conversion's end: the model's weights, rented from the pool and claimed by no engine, go back to it
    /// (a loop of -WhatIf would drain it otherwise), once the guessed entry that may be reading them is disposed.
    /// </summary>
    private static TrtEngineModel? Declined(NetworkDefinition network, GuessedEntry? guessed)
    {
        guessed?.Dispose();
        WeightPool.Return(null, network.Weights.Where(w => w.HasValues).Select(w => w.Values));
        return null;
    }

    /// <summary>What a conversion with the cache would do, in words, for <see cref="TryConvert"/>'s question.</summary>
    private static string Intent(IEngineStore store, string key, ConversionSettings settings, bool hit)
    {
        try
        {
            (store as DiskEngineStore)?.Exists();
        }
        catch (CacheDirectoryIsFileException e)
        {
            return $"Build an engine without the cache ({e.Message})";
        }
        return (settings.Force, hit) switch
        {
            (true, true) => $"Rebuild the engine and replace cache entry {key} in {store.Location}",
            (false, true) => $"Load cache entry {key} from {store.Location}" + (settings.StripWeights ? " without weights" : settings.WeightsPath is { } weights ? $" and refit it with the weights of '{weights}'" : " and refit it with the model's weights"),
            _ => $"Build an engine and store it as cache entry {key} in {store.Location}",
        };
    }

    /// <summary>Keeps the hint for the next conversion of this model with these settings, when it <paramref name="changed"/>.</summary>
    private static TrtEngineModel Remembered(TrtEngineModel engine, IEngineStore store, string? identity, bool changed)
    {
        if (identity is not null && changed) store.RememberHint(identity, new CacheHint(engine.CacheKey!, engine.WeightBytes));
        return engine;
    }

    /// <summary>
    /// What a conversion's key depends on besides the model's contents: the model file and the settings that enter the
    /// key. A hint is kept per identity (<see cref="IEngineStore.RememberHint"/>).
    /// </summary>
    private static string HintIdentity(string modelPath, ConversionSettings settings, int threads)
    {
        static string Shapes(IReadOnlyDictionary<string, int[]>? shapes) =>
            shapes is null ? "" : string.Join(";", shapes.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={string.Join('x', s.Value)}"));
        return string.Join("|", Path.GetFullPath(modelPath), settings.OptimizationLevel, threads,
            Shapes(settings.InputShapes), Shapes(settings.MinShapes), Shapes(settings.OptShapes), Shapes(settings.MaxShapes));
    }

    /// <summary>
    /// The engine serving this model under its name and input and output names (the key ignores names: isomorphic
    /// models, a checkpoint's exports among them, share entries). An entry built from this very model has them already
    /// and stays the engine whose refit was prepared.
    /// </summary>
    private static Engine WithNamesOf(Engine engine, NetworkDefinition network)
    {
        string[] inputs = network.Inputs.Select(i => network.Tensors[i].Name).ToArray(), outputs = network.Outputs.Select(o => network.Tensors[o].Name).ToArray();
        bool same = engine.Plan.Name == network.Name
                    && inputs.Select((n, i) => engine.Plan.InputName(i) == n).All(s => s) && outputs.Select((n, o) => engine.Plan.OutputName(o) == n).All(s => s);
        return same ? engine : engine.WithNames(network.Name, inputs, outputs);
    }

    /// <param name="guessed">The entry's engine, loaded ahead of the parse (see <see cref="GuessedEntry"/>), when its key is this one.</param>
    private static TrtEngineModel? TryPull(IEngineStore store, string key, NetworkDefinition network, IReadOnlyList<ShapeProfile> profiles, string modelPath, Stopwatch watch,
                                           ConversionSettings settings, IConversionEvents? events, bool reportMiss, Engine? guessed = null)
    {
        byte[]? plan = null;
        if (guessed is null)
        {
            CacheLookup lookup = store.TryLoad(key);
            if (!lookup.IsHit)
            {
                if (reportMiss) events?.Verbose($"Cache miss: {lookup.MissReason?.TrimEnd('.')}.");
                return null;
            }
            plan = lookup.Plan;
        }
        Engine engine;
        try
        {
            engine = guessed ?? Engine.Deserialize(plan!);
            if (engine.Plan.Inputs.Length != network.Inputs.Count || engine.Plan.Outputs.Length != network.Outputs.Count)
                throw new PlanFormatException($"it has {engine.Plan.Inputs.Length} inputs and {engine.Plan.Outputs.Length} outputs, the model {network.Inputs.Count} and {network.Outputs.Count}");
            // The key covers the profiles, so an entry built for others is another key's plan under this one.
            if (!engine.Plan.Profiles.SequenceEqual(profiles))
                throw new PlanFormatException($"its input profiles ({string.Join("; ", engine.Plan.Profiles.AsEnumerable())}) are not the ones its key stands for ({string.Join("; ", profiles)})");
            engine = WithNamesOf(engine, network);
            if (!settings.StripWeights)
            {
                var refit = Stopwatch.StartNew();
                bool prepared = engine.Preparation is not null;
                // The model's values as they are, non-finite ones too, as a build takes them: a refusal here would be
                // taken for an entry that does not fit, and remove it.
                int recomputed = new Native.Refit.Refitter(engine).Refit(WeightSources.FromNetwork(network), partial: false, allowNonFinite: true, ignoreExtra: true).RecomputedCount;
                events?.Verbose($"Cache hit: refitted {recomputed} engine weights from {network.Weights.Count} model weights in {refit.Elapsed.TotalMilliseconds:F1} ms" +
                                (guessed is null ? "." : prepared ? ", their packing begun as the model was parsed (the entry its last conversion used, loaded as the model was read)."
                                    : " (the entry its last conversion used, loaded beside the parse)."));
            }
            else events?.Verbose("Cache hit: returned weight-stripped (-StripWeights).");
        }
        catch (Exception e) when (e is PlanFormatException or RefitException)
        {
            // An entry that verifies but does not fit this model (another model's plan under this key) is as bad as a torn one.
            string outcome = "the entry was removed";
            try
            {
                store.Remove(key);
            }
            catch (ForeignFilesException kept)
            {
                outcome = $"the entry was kept: {kept.Message}"; // the build still returns an engine; only caching it fails
            }
            events?.Verbose($"Cache miss: the entry's plan is unusable ({e.Message}); {outcome}.");
            return null;
        }
        // Only now: an entry that does not fit leaves the network to a build, which needs them.
        WeightSources.HandBackComputed(network);
        store.RecordHit(key);
        return new TrtEngineModel(engine, modelPath, key, true, watch.Elapsed, store.Location);
    }

    private static Engine Build(NetworkDefinition network, BuilderConfig config, string? timingPath, IConversionEvents? events, CancellationToken cancel)
    {
        var progress = events is null ? null : new SynchronousProgress(p => events.Progress(new ConversionProgress(p.Phase, p.Current, p.Total, p.Detail)));
        // Read only when building: a cache hit never times tactics.
        if (timingPath is not null) config = config with { TimingCache = TimingCache.Load(timingPath) };
        int known = config.TimingCache?.Count ?? 0;
        var engine = EngineBuilder.Build(network, config, progress, events is null ? null : events.Verbose, cancel);
        if (config.TimingCache is { } timings && timings.Count > known && timingPath is not null)
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(timingPath))!);
                timings.Save(timingPath);
                events?.Verbose($"Saved {timings.Count - known} new tactic timings to {timingPath}.");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                events?.Warning($"The timing cache {timingPath} could not be saved: {e.Message}");
            }
        }
        return engine;
    }

    /// <summary>Stores the built engine's stripped entry; false when the cache did not take it (too large, or not writable).</summary>
    private static bool Insert(IEngineStore store, string key, Engine engine, string modelPath, TimeSpan buildTime, IConversionEvents? events)
    {
        var plan = engine.Plan;
        byte[] stripped = engine.Serialize(includeWeights: false);
        var manifest = new CacheManifest
        {
            PlanFormat = EnginePlan.FormatVersion,
            ModelName = plan.Name,
            ModelPath = Path.GetFullPath(modelPath),
            InputNames = plan.Inputs.Select((_, i) => plan.InputName(i)).ToArray(),
            InputProfiles = plan.Profiles.Select(p => p.ToString()).ToArray(),
            OutputNames = plan.Outputs.Select((_, i) => plan.OutputName(i)).ToArray(),
            OptimizationLevel = plan.OptimizationLevel,
            InstructionSet = plan.Hardware.InstructionSet,
            Threads = plan.Hardware.Threads,
            BuildMilliseconds = buildTime.TotalMilliseconds,
            FullEngineBytes = stripped.LongLength + engine.WeightBytes,
        };
        try
        {
            if (store.Save(key, stripped, manifest))
            {
                events?.Verbose($"Stored weight-stripped entry {key}: {stripped.LongLength} bytes (the full engine is {manifest.FullEngineBytes}).");
                return true;
            }
            events?.Warning($"The engine was not cached: its entry does not fit the cache size limit (-Verbose says why).");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // A cache that cannot be written (or whose size limit a damaged settings file holds) must not cost the user
            // the engine they just built.
            events?.Warning($"The engine was built but could not be cached in {store.Location}: {e.Message}");
        }
        return false;
    }

    private static TrtEngineModel Finish(Engine engine, string modelPath, string? key, bool fromCache, Stopwatch watch, string? location, ConversionSettings settings)
    {
        if (settings.StripWeights)
        {
            using var full = engine;
            engine = Engine.Deserialize(full.Serialize(includeWeights: false));
        }
        return new TrtEngineModel(engine, modelPath, key, fromCache, watch.Elapsed, location);
    }

    /// <summary>A checkpoint's tensors under the model names <paramref name="names"/> gives them, when given.</summary>
    private static IReadOnlyDictionary<string, WeightTensor> BoundWeights(string path, Func<string, string?>? names)
    {
        var tensors = WeightSources.CheckpointTensors(path);
        if (tensors.Count == 0)
            throw new WeightFormatException($"'{path}' holds no tensors, so it would change nothing: give the checkpoint of the model's weights, or leave -WeightsPath out.");
        if (names is null) return tensors;
        return WeightSources.Renamed(tensors, names, $"'{path}'").ToDictionary(e => e.Key, e => e.Key == e.Value.Name ? e.Value : e.Value.Renamed(e.Key), StringComparer.Ordinal);
    }

    /// <summary>
    /// A weights file's tensors against the graph inputs and initializers they take the place of: each must be floating
    /// point, and of the declared shape (a symbolic dimension takes any size); every misfit is listed in one error.
    /// Tensors that name neither are warned about, but integer ones (a torch state dict's counters) only in verbose.
    /// </summary>
    private static void CheckBoundWeights(OnnxModel model, IReadOnlyDictionary<string, WeightTensor> bound, string path, bool allowNonFinite, IConversionEvents? events)
    {
        var declared = new Dictionary<string, (OnnxDataType Type, IReadOnlyList<OnnxDim>? Shape)>(StringComparer.Ordinal);
        foreach (var input in model.Graph.Inputs) declared[input.Name] = (input.ElementType, input.Shape);
        foreach (var init in model.Graph.Initializers) declared[init.Name] = (init.DataType, init.Dims.Select(d => new OnnxDim(d, null)).ToArray());
        // Constant nodes' tensor values are weights a refit takes by name: a file may give them too.
        foreach (var node in model.Graph.Nodes.Where(n => n.OpType == "Constant" && n.Outputs.Count == 1))
        {
            var value = node.GetTensor("value");
            long[]? dims = value is not null ? [.. value.Dims] : node.FindAttribute("value_float") is not null ? [] : node.GetFloats("value_floats") is { } floats ? [floats.Count] : null;
            var type = value?.DataType ?? (dims is null ? OnnxDataType.Int64 : OnnxDataType.Float);
            declared[node.Outputs[0]] = (type, dims?.Select(d => new OnnxDim(d, null)).ToArray());
        }
        var problems = new List<string>();
        var unused = new List<string>();
        var integers = new List<string>();
        // Other names of a tensor the model takes (tied weights) hold its values: left out quietly.
        var tiedTo = new Dictionary<object, string>(ReferenceEqualityComparer.Instance);
        foreach (var tensor in bound.Values)
            if (tensor.Tie is { } tie && declared.ContainsKey(tensor.Name)) tiedTo.TryAdd(tie, tensor.Name);
        var tied = new List<string>();
        foreach (var tensor in bound.Values)
        {
            if (!declared.TryGetValue(tensor.Name, out var slot))
            {
                if (tensor.IsInteger) integers.Add(tensor.Name);
                else if (tensor.Tie is { } tie && tiedTo.TryGetValue(tie, out string? weight)) tied.Add($"'{tensor.Name}' (as '{weight}')");
                else unused.Add(tensor.Name);
            }
            else if (tensor.IsInteger)
                problems.Add($"'{tensor.Name}' holds integers ({tensor.SourceDType}); TrtEngine's weights are float32");
            else if (slot.Type != OnnxDataType.Undefined && !OnnxTensor.IsFloatingPoint(slot.Type))
                problems.Add($"'{tensor.Name}' is a {slot.Type} tensor in the model; TrtEngine binds float weights only");
            else if (slot.Shape is { } shape && (shape.Count != tensor.Shape.Length || shape.Where((d, i) => d.Value is long v && v != tensor.Shape[i]).Any()))
                problems.Add($"'{tensor.Name}' is {Shapes.Format(tensor.Shape)} in the file, the model declares [{string.Join(", ", shape)}]");
            // As a refit refuses them: NaN and infinity, unless asked for or the model's own value (a mask of −∞).
            else if (!allowNonFinite && WeightScan.FirstNonFinite(tensor.Data) is int bad and >= 0 && !SameAsModel(model, tensor))
                problems.Add($"'{tensor.Name}' value {tensor.Data[bad].ToString(System.Globalization.CultureInfo.InvariantCulture)} at index {bad} is not finite (-AllowNonFinite builds with it)");
        }
        if (problems.Count > 0)
            throw new WeightFormatException($"The weights in '{path}' do not fit the model ({problems.Count}): {string.Join("; ", problems.Take(20))}{(problems.Count > 20 ? "; …" : "")}.");
        // A file none of whose weights the model takes would change nothing: its names are another's (a 'module.' prefix),
        // or it holds only what is no weight (a state dict's counters, tied names).
        if (unused.Count == 0 && integers.Count + tied.Count == bound.Count)
            throw new WeightFormatException($"'{path}' holds none of the model's weights, only {Counted.Of(bound.Count, "tensor")} that {(bound.Count == 1 ? "is" : "are")} no weight " +
                $"({string.Join(", ", bound.Keys.Take(10))}{(bound.Count > 10 ? ", …" : "")}), so it would change nothing: give the checkpoint of the model's weights, or leave -WeightsPath out.");
        if (unused.Count > 0 && unused.Count + integers.Count + tied.Count == bound.Count)
            throw new WeightFormatException($"None of the {unused.Count} weights in '{path}' is named as an input or initializer of the model ('{unused[0]}' against the model's " +
                $"{string.Join(", ", model.Graph.Initializers.Select(t => t.Name).Concat(declared.Keys).Distinct().Take(3).Select(n => $"'{n}'"))}{(declared.Count > 3 ? ", …" : "")}), so it would change nothing. " +
                (RefitCheck.RemovablePrefix(unused, declared.Keys.ToHashSet(StringComparer.Ordinal)) is { } prefix
                    ? $"Without '{prefix}' they are the model's: {RefitCheck.NameMapRemoving(prefix)} takes it off."
                    : "Rename them to the model's names with -NameMap."));
        if (unused.Count > 0)
            events?.Warning($"{Counted.Of(unused.Count, "tensor")} of '{path}' {(unused.Count == 1 ? "is not an input or initializer" : "are not inputs or initializers")} of the model and {(unused.Count == 1 ? "was" : "were")} ignored: {string.Join(", ", unused.Take(10))}{(unused.Count > 10 ? ", …" : "")}.");
        if (integers.Count > 0)
            events?.Verbose($"{Counted.Of(integers.Count, "integer tensor")} of '{path}' {(integers.Count == 1 ? "is not a weight and was" : "are not weights and were")} left out: {string.Join(", ", integers.Take(10))}{(integers.Count > 10 ? ", …" : "")}.");
        if (tied.Count > 0)
            events?.Verbose($"{Counted.Of(tied.Count, "tensor")} of '{path}' {(tied.Count == 1 ? "is another name of a weight" : "are other names of weights")} the model takes (tied weights) and {(tied.Count == 1 ? "was" : "were")} left out: {string.Join(", ", tied.Take(10))}{(tied.Count > 10 ? ", …" : "")}.");
    }

    /// <summary>Whether the model holds this very value under the tensor's name, bit for bit (an initializer, or a Constant node's float value).</summary>
    private static bool SameAsModel(OnnxModel model, WeightTensor tensor)
    {
        var own = model.Graph.Initializers.FirstOrDefault(t => t.Name == tensor.Name)
            ?? model.Graph.Nodes.FirstOrDefault(n => n.OpType == "Constant" && n.Outputs.Count == 1 && n.Outputs[0] == tensor.Name)?.GetTensor("value");
        return own is not null && OnnxTensor.IsFloatingPoint(own.DataType) && own.ElementCount == tensor.Data.LongLength && WeightScan.SameBits(own.ToSingleArray(), tensor.Data);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to a thread-pool thread).</summary>
    private sealed class SynchronousProgress(Action<BuildProgress> report) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value) => report(value);
    }
}
