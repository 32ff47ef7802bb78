using Microsoft.Win32.SafeHandles;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Network;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Core.Refit;

/// <summary>Reads refit weights, by the model's weight names, from an ONNX model, a safetensors file, in-memory arrays or another engine.</summary>
public static class WeightSources
{
    /// <summary>
    /// An .onnx model (its initializers and Constant nodes), a .safetensors checkpoint or a torch checkpoint (its state
    /// dict; <see cref="TorchCheckpoint"/>), by extension. The trained
    /// weights are read into pinned buffers the engine weight pool made and never takes back, so an engine refitted
    /// from them can take one as its own identity weight instead of copying it.
    /// </summary>
    public static IReadOnlyDictionary<string, WeightValue> FromFile(string path)
    {
        var values = FromFile(path, WeightPool.Rent);
        WeightPool.Keep(values.Values.Select(v => v.Data));
        return values;
    }

    /// <param name="allocate">Makes the array of each trained weight (<see cref="WeightFile"/> rents them from the engine weight pool).</param>
    /// <param name="weightRead">
    /// Asked for each trained weight's name (a safetensors file's all on this thread before any is read, an ONNX
    /// model's as each is parsed); what it returns is told each part of the weight's values as soon as it is read: the
    /// array and the elements [start, end) now in it (an ONNX model's whole at once).
    /// </param>
    /// <param name="readItems">
    /// Reads the file in items, given its opening (to run on the calling thread; it returns how many items there are)
    /// and the read of one, which may run on several threads at once: a safetensors file's pieces, or an ONNX model as
    /// one item (its parse is sequential), a torch checkpoint's tensors. Without it, on this thread.
    /// </param>
    /// <param name="imported">Told an ONNX model's network once it is imported.</param>
    /// <param name="fixedShape">The one shape the engine runs an input at, for an ONNX model's import (<see cref="OnnxImporter.Import(OnnxModel, string, IReadOnlyDictionary{string, WeightTensor}?, Func{int, string, int[], int[]?}?)"/>).</param>
    internal static IReadOnlyDictionary<string, WeightValue> FromFile(string path, Func<int, float[]> allocate,
        Func<string, Action<float[], int, int>?>? weightRead = null, Action<Func<int>, Action<int>>? readItems = null, Action<NetworkDefinition>? imported = null,
        Func<int, string, int[], int[]?>? fixedShape = null)
    {
        if (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
            return FromRead(Told(ReadOnnx(path, allocate, weightRead, readItems, fixedShape), imported));
        // The file is opened once, to tell its format and to read it: a look of its own (open, read, close) took ~9 µs
        // here, a fifth of reading tiny_mlp's checkpoint.
        using var handle = File.OpenHandle(path);
        return CheckpointFormat(path, handle) switch
        {
            Checkpoint.Torch => FromTensors(TorchCheckpoint.Load(path, allocate, weightRead, readItems, handle)),
            Checkpoint.Safetensors => FromTensors(SafetensorsFile.Load(path, allocate, weightRead, readItems, handle).Tensors),
            _ => throw new WeightFormatException($"Cannot read weights from '{path}': use an .onnx model, a .safetensors file or a torch checkpoint (.pt, .pth, .bin, .ckpt)."),
        };
    }

    /// <summary>
    /// <paramref name="weights"/> under the model names <paramref name="target"/> gives their names (-NameMap); a name it
    /// maps to null is left out. Two names mapped to one are refused: which value is meant cannot be told; so is a map
    /// that leaves out every name of <paramref name="source"/> (as the error names it), which would change nothing.
    /// </summary>
    public static Dictionary<string, T> Renamed<T>(IReadOnlyDictionary<string, T> weights, Func<string, string?> target, string source)
    {
        var renamed = new Dictionary<string, T>(StringComparer.Ordinal);
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in weights)
        {
            if (target(name) is not { } model) continue;
            if (!sources.TryAdd(model, name))
                throw new ArgumentException($"-NameMap maps both '{sources[model]}' and '{name}' to '{model}'; map each to its own model weight, or one of them to nothing to leave it out.");
            renamed[model] = value;
        }
        return renamed.Count > 0 || weights.Count == 0 ? renamed
            : throw new ArgumentException(weights.Count == 1 ? $"-NameMap leaves out the one tensor of {source}, so it would change nothing: map it to the model's weight name."
                : $"-NameMap leaves out every one of the {weights.Count} tensors of {source}, so it would change nothing: map them to the model's weight names.");
    }

    /// <summary>A checkpoint's tensors by name: a torch checkpoint's state dict or a safetensors file's tensors.</summary>
    public static IReadOnlyDictionary<string, WeightTensor> CheckpointTensors(string path) => CheckpointFormat(path, null) switch
    {
        Checkpoint.Torch => TorchCheckpoint.Load(path),
        Checkpoint.Safetensors => SafetensorsFile.Load(path).Tensors,
        _ => throw NotACheckpoint(path),
    };

    /// <summary>A checkpoint's tensor names, from its header or pickle alone (for tab completion).</summary>
    public static IReadOnlyList<string> CheckpointTensorNames(string path) => CheckpointFormat(path, null) switch
    {
        Checkpoint.Torch => TorchCheckpoint.TensorNames(path),
        Checkpoint.Safetensors => SafetensorsFile.TensorNames(path),
        _ => throw NotACheckpoint(path),
    };

    private static WeightFormatException NotACheckpoint(string path) =>
        new($"Cannot read weights from '{path}': use a .safetensors file or a torch checkpoint (.pt, .pth, .bin, .ckpt).");

    private enum Checkpoint { Unknown, Safetensors, Torch }

    /// <summary>
    /// A checkpoint's format by its first bytes (a zip archive or a pickle: torch's; a JSON header after its length:
    /// safetensors), so a file named for the other reads as what it is; by its extension where they say neither.
    /// </summary>
    /// <param name="opened">The file, open; null opens it for the look.</param>
    private static Checkpoint CheckpointFormat(string path, SafeFileHandle? opened)
    {
        Span<byte> start = stackalloc byte[9];
        int read;
        using (var own = opened is null ? File.OpenHandle(path) : null) read = RandomAccess.Read(opened ?? own!, start, 0);
        if ((read >= 4 && start[..4].SequenceEqual("PK\u0003\u0004"u8)) || (read >= 2 && start[0] == 0x80 && start[1] is >= 2 and <= 5)) return Checkpoint.Torch;
        if (read == 9 && start[8] == (byte)'{') return Checkpoint.Safetensors;
        return Path.GetExtension(path).Equals(".safetensors", StringComparison.OrdinalIgnoreCase) ? Checkpoint.Safetensors
            : TorchCheckpoint.HasExtension(path) ? Checkpoint.Torch : Checkpoint.Unknown;
    }

    /// <summary>The weights of a network read for their values (<see cref="HandBackComputed"/> once they are taken).</summary>
    private static IReadOnlyDictionary<string, WeightValue> FromRead(NetworkDefinition network)
    {
        var values = FromNetwork(network);
        HandBackComputed(network);
        return values;
    }

    /// <summary>
    /// Hands back to the pool the computed weights' buffers that it made and no engine claimed (of those whose values
    /// something read: they are computed only then), for a network that will not be built and whose values a refit
    /// has taken (or never will): a refit computes them again from the kept ones. ViT-Ti/16's sliced and transposed
    /// in-projection and MLP weights, 19 MB a read, had been garbage for gen-2 collections to take (a loop of reads of
    /// its ONNX file: 55–57 ms a read, 25–30 since).
    /// </summary>
    internal static void HandBackComputed(NetworkDefinition network) =>
        WeightPool.Return(null, network.Weights.Where(w => w.Kind == WeightKind.Computed && w.HasValues).Select(w => w.Values));

    private static NetworkDefinition Told(NetworkDefinition network, Action<NetworkDefinition>? imported)
    {
        imported?.Invoke(network);
        return network;
    }

    /// <param name="opened">The model file already open (and perhaps read), else null.</param>
    /// <param name="check">Run on the parsed model before it is imported.</param>
    internal static NetworkDefinition ReadOnnx(string path, Func<int, float[]> allocate, Func<string, Action<float[], int, int>?>? weightRead, Action<Func<int>, Action<int>>? readItems,
                                               Func<int, string, int[], int[]?>? fixedShape, ProgressiveFile? opened = null, Action<OnnxModel>? check = null)
    {
        NetworkDefinition Import(OnnxModel model)
        {
            check?.Invoke(model);
            return OnnxImporter.Import(model, Path.GetFileNameWithoutExtension(path), null, allocate, fixedShape);
        }
        // Told as each initializer is parsed, not when the import reaches it: whoever waits for the weights starts sooner.
        Action<OnnxTensor>? parsed = weightRead is null ? null : tensor =>
        {
            if (OnnxTensor.IsFloatingPoint(tensor.DataType) && weightRead(tensor.Name) is { } told)
            {
                float[] values = tensor.DecodeAhead(allocate);
                told(values, 0, values.Length);
            }
        };
        NetworkDefinition Read() => opened is null ? OnnxModel.Borrow(path, Import, parsed, allocate) : OnnxModel.Borrow(opened, Import, parsed, allocate);
        if (readItems is null) return Read();
        NetworkDefinition? network = null;
        readItems(() => 1, _ => network = Read());
        return network!;
    }

    /// <summary>
    /// The weights a network was built from and an engine keeps (not those it computes from them: a refit recomputes
    /// those; nor constants only shape arithmetic read, which no engine has).
    /// </summary>
    public static IReadOnlyDictionary<string, WeightValue> FromNetwork(NetworkDefinition network)
    {
        var kept = network.KeptWeights();
        return network.Weights.Where(w => w.Kind != WeightKind.Computed && kept.Contains(w.Name))
            .ToDictionary(w => w.Name, w => new WeightValue(w.Shape, w.Values, Immutable: true), StringComparer.Ordinal);
    }

    public static IReadOnlyDictionary<string, WeightValue> FromTensors(IReadOnlyDictionary<string, WeightTensor> tensors) =>
        tensors.Values.ToDictionary(t => t.Name, t => new WeightValue(t.Shape, t.Data, Immutable: true, t.IsInteger ? t.SourceDType : null, t.Tie), StringComparer.Ordinal);

    /// <summary>
    /// Arrays by name, each with the shape it came in (a multi-dimensional or nested array, a tensor) or, flat (a null
    /// shape), the engine's shape for that weight when its length fits (else it stays 1-D and the refit reports the
    /// mismatch). A shape given is kept, so a transposed matrix is refused rather than read in the wrong order.
    /// </summary>
    public static IReadOnlyDictionary<string, WeightValue> FromArrays(IReadOnlyDictionary<string, (float[] Data, int[]? Shape)> arrays, Engines.TrtEngine engine)
    {
        var shapes = engine.Native.Plan.ModelWeights.ToDictionary(m => m.Name, m => m.Shape, StringComparer.Ordinal);
        return arrays.ToDictionary(a => a.Key, a => new WeightValue(
            a.Value.Shape ?? (shapes.TryGetValue(a.Key, out var s) && Shapes.ElementCount(s) == a.Value.Data.LongLength ? s : [a.Value.Data.Length]), a.Value.Data),
            StringComparer.Ordinal);
    }

    /// <summary>
    /// Whether <paramref name="source"/> was built from another graph than <paramref name="target"/> (as
    /// <see cref="WeightFile.OtherGraph"/> tells of an ONNX model): its weights may fit while the target keeps computing its own graph.
    /// </summary>
    public static bool OtherGraph(Engines.TrtEngine source, Engines.TrtEngine target) =>
        source.Native.Plan.StructureDigest is { Length: > 0 } built && target.Native.Plan.StructureDigest is { Length: > 0 } own && built != own;

    /// <summary>
    /// The model weights another engine holds: those it was built or last refitted with (not its packed engine
    /// weights), by name. An engine loaded from a plan holds only its constants until it is refitted, and is refused.
    /// </summary>
    public static IReadOnlyDictionary<string, WeightValue> FromEngine(Engines.TrtEngine source)
    {
        // Said here, as the source: the engine being refitted may carry the same name.
        if (source.IsDisposed) throw new EngineDisposedException(source.Name, "source");
        // Lent: the source engine never recycles these arrays, which the refitted engine will keep as they are.
        var state = source.Native.LendState();
        // Computed weights are derived from the others at every refit, never supplied.
        var infos = source.Native.Plan.ModelWeights.Where(m => m.Kind != WeightKind.Computed).ToArray();
        var unknown = infos.Where(m => !state.ModelValues.ContainsKey(m.Name)).Select(m => m.Name).ToList();
        if (unknown.Count > 0)
            throw new SourceEngineException($"Engine '{source.Name}' cannot be a weight source: it does not hold {unknown.Count} of its model weights ({string.Join(", ", unknown.Take(8))}{(unknown.Count > 8 ? ", …" : "")}). " +
                (source.HasWeights
                    ? "An engine imported from a plan carries packed engine weights, not model weights, until it is refitted; refit it from its model or a checkpoint first, or refit from that file."
                    : "It has no weights (weight-stripped): refit it from its model or a checkpoint first, or refit from that file."));
        // An engine never changes its model values in place: another engine may keep the same arrays.
        var weights = new Dictionary<string, WeightValue>(infos.Length, StringComparer.Ordinal);
        foreach (var info in infos) weights[info.Name] = new WeightValue(info.Shape, state.ModelValues[info.Name], Immutable: true);
        return weights;
    }
}
